import type { ServerResponse } from 'node:http'

export interface Waits {
  /** Per request: arrival → its answer handed to the OS ('finish'), in ms. */
  waits: number[]
  /** The answer becoming available (upstream answer, or the reference's timer) → the last 'finish'. */
  fanOutMs: number
}

/**
 * Server-side timing for the coalescing run, kept the same way in cistern and in the bare reference so
 * the two can be compared: how long each waiter waited, and how long writing all the answers took
 * once there was one to write. Read and reset with take() (GET /_bench/waits).
 */
export class WaitLog {
  #waits: number[] = []
  #readyAt = 0
  #lastFinish = 0

  track(res: ServerResponse): void {
    const arrived = performance.now()
    res.once('finish', () => {
      const at = performance.now()
      this.#waits.push(at - arrived)
      this.#lastFinish = Math.max(this.#lastFinish, at)
    })
  }

  /** The answer exists now. */
  ready(): void {
    this.#readyAt = performance.now()
  }

  take(): Waits {
    const taken = { waits: this.#waits, fanOutMs: this.#lastFinish - this.#readyAt }
    this.#waits = []
    this.#readyAt = 0
    this.#lastFinish = 0
    return taken
  }
}
