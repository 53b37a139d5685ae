import type { Timers } from '../../util/timers.js'

/** The budget's single timer: re-armed only when the wake-up time changes. */
export class WakeTimer {
  private readonly timers: Timers
  private readonly callback: () => void
  private handle: unknown
  private at: number | undefined

  constructor(timers: Timers, callback: () => void) {
    this.timers = timers
    this.callback = callback
  }

  /** Wake at `at` (same clock as `now`); Infinity disarms. */
  arm(at: number, now: number): void {
    if (at === this.at) return
    this.disarm()
    if (!Number.isFinite(at)) return
    this.at = at
    this.handle = this.timers.set(
      () => {
        this.handle = undefined
        this.at = undefined
        this.callback()
      },
      Math.max(0, at - now),
    )
  }

  /** Wake at `at` unless already due to wake earlier. */
  armEarlier(at: number, now: number): void {
    if (this.at === undefined || at < this.at) this.arm(at, now)
  }

  disarm(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle)
    this.handle = undefined
    this.at = undefined
  }
}
