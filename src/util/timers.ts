/**
 * A one-shot timer API, injectable wherever a background loop waits for a moment on its `now` clock
 * (the budget's next token, the refresh scheduler's next due key, a notify retry). Tests hand in a
 * fake clock with both `now` and these timers and move time forward instead of waiting for it; in
 * production it is `realTimers`. Deadlines a person waits on in real time (shutdown grace periods,
 * socket timeouts) stay on real timers.
 */
export interface Timers {
  set(callback: () => void, ms: number): unknown
  clear(handle: unknown): void
}

/** setTimeout's ceiling; longer delays would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647

/** Real timers, unref'd so a waiting loop never keeps the process alive. */
export const realTimers: Timers = {
  set(callback, ms) {
    const handle = setTimeout(callback, Math.min(Math.max(0, ms), MAX_TIMER_MS))
    handle.unref()
    return handle
  },
  clear(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}
