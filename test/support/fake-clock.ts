import type { Timers } from '../../src/util/timers.js'

interface Scheduled {
  id: number
  at: number
  callback: () => void
}

/**
 * A deterministic clock and timer queue: time moves only when a test advances it. Hand `now` and the
 * clock itself (as `timers`) to the code under test, and the simulator the same `now`.
 */
export class FakeClock implements Timers {
  private current: number
  private nextId = 1
  private queue: Scheduled[] = []
  /** How many timers were ever set (to check the budget does not poll). */
  setCount = 0

  constructor(start = 1_700_000_000_000) {
    this.current = start
  }

  readonly now = (): number => this.current

  set(callback: () => void, ms: number): unknown {
    this.setCount++
    const entry = { id: this.nextId++, at: this.current + Math.max(0, ms), callback }
    this.queue.push(entry)
    return entry.id
  }

  clear(handle: unknown): void {
    this.queue = this.queue.filter((entry) => entry.id !== handle)
  }

  get pending(): number {
    return this.queue.length
  }

  /**
   * Moves time forward by `ms`, running due timers in order. After each one, `settle` lets what it
   * started finish before the next (default: pending promise reactions; over real sockets, a wait
   * until the requests it sent are answered).
   */
  async advance(ms: number, settle: () => Promise<void> = flush): Promise<void> {
    await this.advanceTo(this.current + ms, settle)
  }

  async advanceTo(target: number, settle: () => Promise<void> = flush): Promise<void> {
    await settle()
    // Bounded: a timer that keeps re-arming itself at the same moment fails the test instead of hanging.
    for (let fired = 0; ; fired++) {
      const due = this.queue.filter((e) => e.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      if (fired >= MAX_TIMERS_PER_ADVANCE) {
        throw new Error(`more than ${MAX_TIMERS_PER_ADVANCE} timers fell due in one advance`)
      }
      this.queue = this.queue.filter((e) => e !== due)
      this.current = Math.max(this.current, due.at)
      due.callback()
      await settle()
    }
    this.current = Math.max(this.current, target)
    await settle()
  }
}

const MAX_TIMERS_PER_ADVANCE = 100_000

/** Lets pending promise reactions run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}
