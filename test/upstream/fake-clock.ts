import type { Timers } from '../../src/upstream/budget/index.js'

interface Scheduled {
  id: number
  at: number
  callback: () => void
}

/** A deterministic clock and timer queue: time moves only when a test advances it. */
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

  /** Moves time forward by `ms`, running due timers in order (and letting promises settle between). */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms)
  }

  async advanceTo(target: number): Promise<void> {
    await flush()
    for (;;) {
      const due = this.queue.filter((e) => e.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.queue = this.queue.filter((e) => e !== due)
      this.current = Math.max(this.current, due.at)
      due.callback()
      await flush()
    }
    this.current = Math.max(this.current, target)
    await flush()
  }
}

/** Lets pending promise reactions run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}
