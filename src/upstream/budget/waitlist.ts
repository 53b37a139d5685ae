import { BudgetExceededError } from './errors.js'
import { type KeySlot, type KeyStrategy, Plan, pickKey } from './keys.js'
import type { Lane, Permit } from './types.js'
import type { WakeTimer } from './wake-timer.js'

export interface Waiter {
  lane: Lane
  deadlineMs: number
  resolve(permit: Permit): void
  reject(error: unknown): void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

export interface WaitlistDeps {
  slots: readonly KeySlot[]
  strategy: KeyStrategy
  timer: WakeTimer
  name: string | undefined
  grant(slot: KeySlot, lane: Lane, now: number): Permit
}

const LANES = ['foreground', 'background'] as const

/** Detaches the abort listener; returns the waiter for resolving or rejecting. */
function settle(waiter: Waiter): Waiter {
  if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort)
  return waiter
}

/**
 * The waiters of one budget, foreground strictly before background and FIFO within a lane, with a
 * what-if plan of when each could be served. The plan's tail per lane is cached, so a new waiter is
 * estimated in O(keys × rates); the full plan is redone when something real changes (a grant on the
 * timer, a release, a pause, an abort). A background waiter that a later foreground arrival pushes
 * past its deadline is therefore rejected at the next full plan (at the latest, the next grant).
 */
export class Waitlist {
  readonly lanes: Record<Lane, Waiter[]> = { foreground: [], background: [] }
  private readonly deps: WaitlistDeps
  /** Plan state after every foreground waiter, and after every waiter; undefined when stale. */
  private tails: Record<Lane, Plan | undefined> = { foreground: undefined, background: undefined }

  constructor(deps: WaitlistDeps) {
    this.deps = deps
  }

  get size(): number {
    return this.lanes.foreground.length + this.lanes.background.length
  }

  /** Grants at once when the waiter is first in line and a key is free; else queues or rejects it. */
  add(waiter: Waiter, now: number): void {
    const { lane } = waiter
    const ahead = this.lanes.foreground.length + (lane === 'background' ? this.lanes.background.length : 0)
    if (ahead === 0) {
      const slot = pickKey(this.deps.slots, now, lane, this.deps.strategy)
      if (slot) {
        settle(waiter).resolve(this.deps.grant(slot, lane, now))
        return
      }
    }
    const wakeAt = this.admit(waiter, this.tail(lane, now), now)
    if (wakeAt !== undefined) {
      this.lanes[lane].push(waiter)
      if (lane === 'foreground') this.tails.background = undefined
      this.deps.timer.armEarlier(wakeAt, now)
    }
  }

  /** Real state changed outside the plan (a grant): re-plan on next use. */
  invalidate(): void {
    this.tails = { foreground: undefined, background: undefined }
  }

  remove(waiter: Waiter): boolean {
    const queue = this.lanes[waiter.lane]
    const at = queue.indexOf(waiter)
    if (at < 0) return false
    queue.splice(at, 1)
    this.tails = { foreground: undefined, background: undefined }
    return true
  }

  rejectAll(error: unknown): void {
    for (const lane of LANES) for (const waiter of this.lanes[lane].splice(0)) settle(waiter).reject(error)
    this.tails = { foreground: undefined, background: undefined }
  }

  /** Grants what can be granted now, re-plans every waiter, rejects the hopeless, re-arms the timer. */
  pump(now: number): void {
    const { slots, strategy, timer } = this.deps
    for (const lane of LANES) {
      const queue = this.lanes[lane]
      while (queue.length > 0) {
        const slot = pickKey(slots, now, lane, strategy)
        if (!slot) break
        settle(queue.shift()!).resolve(this.deps.grant(slot, lane, now))
      }
      // Background is always at least as constrained as foreground: if foreground waits, so does it.
      if (queue.length > 0) break
    }
    this.tails = { foreground: undefined, background: undefined }
    const wakeAt = Math.min(this.rebuild('foreground', now), this.rebuild('background', now))
    timer.arm(wakeAt, now)
  }

  /** The cached plan after the last waiter of `lane`, rebuilt when stale. */
  private tail(lane: Lane, now: number): Plan {
    if (!this.tails[lane]) this.deps.timer.armEarlier(this.rebuild(lane, now), now)
    return this.tails[lane]!
  }

  /** Re-plans every waiter of `lane`, rejecting the hopeless; returns the earliest wake-up it needs. */
  private rebuild(lane: Lane, now: number): number {
    const plan = lane === 'foreground' ? new Plan(this.deps.slots) : this.tail('foreground', now).clone()
    let wakeAt = Number.POSITIVE_INFINITY
    this.lanes[lane] = this.lanes[lane].filter((waiter) => {
      const at = this.admit(waiter, plan, now)
      wakeAt = Math.min(wakeAt, at ?? Number.POSITIVE_INFINITY)
      return at !== undefined
    })
    this.tails[lane] = plan
    return wakeAt
  }

  /**
   * Books `waiter` on `plan` and returns when to wake up for it, if it can be served by its deadline;
   * else rejects it with when a permit could next be expected, and returns undefined.
   */
  private admit(waiter: Waiter, plan: Plan, now: number): number | undefined {
    const estimate = plan.next(now, waiter.lane)
    const late = estimate.at > waiter.deadlineMs
    if (late || now >= waiter.deadlineMs) {
      const reason = late ? estimate.reason : 'concurrency'
      const retryAfterMs = Math.max(1, Math.ceil(estimate.at - now))
      settle(waiter).reject(new BudgetExceededError(waiter.lane, retryAfterMs, reason, this.deps.name))
      return undefined
    }
    plan.take(estimate)
    // Waiting on a release (which re-plans anyway), or due now but behind the lane: wake at the deadline.
    return estimate.at > now && !estimate.blocked ? estimate.at : waiter.deadlineMs
  }
}
