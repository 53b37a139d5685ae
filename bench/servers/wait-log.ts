import type { ServerResponse } from 'node:http'

export interface Waits {
  /** Per request: arrival → its answer written to the socket (res.end() returned), in ms. */
  waits: number[]
  /** The answer becoming available (upstream answer, or the reference's timer) → the last answer written. */
  fanOutMs: number
  /** The answer becoming available → the last 'finish' event. */
  lastFinishMs: number
}

/**
 * Server-side timing for the coalescing run, kept the same way in cistern and in the bare reference so
 * the two can be compared: how long each waiter waited, and how long writing all the answers took
 * once there was one to write. Read and reset with take() (GET /_bench/waits).
 *
 * A wait ends when `res.end()` returns: the answer is then in the kernel (one write per socket). Not
 * at 'finish': node emits it from a nextTick, so when 1,000 waiters are answered in one run of
 * promise continuations, every 'finish' comes after the last write and each wait would include the
 * whole fan-out. The last 'finish' is still reported.
 */
export class WaitLog {
  #waits: number[] = []
  #readyAt = 0
  #lastWritten = 0
  #lastFinish = 0

  track(res: ServerResponse): void {
    const arrived = performance.now()
    const end = res.end
    res.end = ((...args: Parameters<typeof end>) => {
      const result = end.apply(res, args)
      const at = performance.now()
      this.#waits.push(at - arrived)
      this.#lastWritten = Math.max(this.#lastWritten, at)
      return result
    }) as typeof end
    res.once('finish', () => {
      this.#lastFinish = Math.max(this.#lastFinish, performance.now())
    })
  }

  /** The answer exists now. */
  ready(): void {
    this.#readyAt = performance.now()
  }

  take(): Waits {
    const taken = {
      waits: this.#waits,
      fanOutMs: this.#lastWritten - this.#readyAt,
      lastFinishMs: this.#lastFinish - this.#readyAt,
    }
    this.#waits = []
    this.#readyAt = 0
    this.#lastWritten = 0
    this.#lastFinish = 0
    return taken
  }
}
