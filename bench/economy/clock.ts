import { Heap } from '../../src/refresh/heap.js'
import type { Timers } from '../../src/util/timers.js'

interface Timer {
  id: number
  at: number
  callback: () => void
  cleared: boolean
}

/**
 * Simulated time for the economy benchmark: `now` moves only through `advanceTo`, which fires due
 * timers in order. Hours of traffic then run in minutes. (test/support/fake-clock.ts is the tests'
 * clock; this one keeps its timers in a heap, since a long run sets hundreds of thousands.)
 */
export class SimClock implements Timers {
  #now: number
  #nextId = 1
  readonly #timers = new Heap<Timer>((a, b) => a.at < b.at || (a.at === b.at && a.id < b.id))
  readonly #byId = new Map<number, Timer>()

  constructor(start: number) {
    this.#now = start
  }

  readonly now = (): number => this.#now

  set(callback: () => void, ms: number): unknown {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), callback, cleared: false }
    this.#timers.push(timer)
    this.#byId.set(timer.id, timer)
    return timer.id
  }

  clear(handle: unknown): void {
    const timer = this.#byId.get(handle as number)
    if (!timer) return
    timer.cleared = true
    this.#byId.delete(timer.id)
  }

  /** Move to `at`, firing every timer due by then in order (each sees `now` at its own time). */
  advanceTo(at: number): void {
    for (;;) {
      const top = this.#timers.peek()
      if (!top || top.at > at) break
      this.#timers.pop()
      if (top.cleared) continue
      this.#byId.delete(top.id)
      this.#now = Math.max(this.#now, top.at)
      top.callback()
    }
    this.#now = Math.max(this.#now, at)
  }
}
