import { CisternError } from '../../util/errors.js'
import { BudgetExceededError } from './errors.js'
import { grantOn, type KeySlot, type KeyStrategy, Plan, pickKey } from './keys.js'
import { type LimitsOptions, normalizeLimits } from './limits.js'
import { buildSlots, snapshotSlot } from './slots.js'
import { realTimers, type Timers, WakeTimer } from './timers.js'
import type { AcquireOptions, Budget, BudgetSnapshot, Lane, Permit } from './types.js'

export interface InProcessBudgetOptions extends LimitsOptions {
  /** For error messages and snapshots. */
  name?: string
  /** One bucket for the upstream (default), or one per credential of the key pool. */
  per?: 'upstream' | 'key'
  /** How many credentials the upstream has (default 1). */
  keys?: number
  /** Calls in flight at once, per bucket (default: unlimited). */
  concurrency?: number
  /** Default 'lru': spread calls evenly across keys. */
  strategy?: KeyStrategy
  now?: () => number
  timers?: Timers
}

interface Waiter {
  lane: Lane
  deadlineMs: number
  resolve(permit: Permit): void
  reject(error: unknown): void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/**
 * The in-process budget: GCRA buckets per upstream or per key, a concurrency cap, two lanes with a
 * foreground reserve, pauses, and one timer set to the next moment anything can change for a waiter.
 */
export class InProcessBudget implements Budget {
  readonly name: string | undefined
  readonly per: 'upstream' | 'key'
  private readonly slots: KeySlot[]
  private readonly concurrency: number
  private readonly strategy: KeyStrategy
  private readonly now: () => number
  private readonly queues: Record<Lane, Waiter[]> = { foreground: [], background: [] }
  private readonly timer: WakeTimer
  private closed = false

  constructor(options: InProcessBudgetOptions) {
    const where = options.name ? `upstreams.${options.name}.budget` : 'budget'
    this.name = options.name
    this.per = options.per ?? 'upstream'
    this.concurrency = options.concurrency ?? Number.POSITIVE_INFINITY
    this.strategy = options.strategy ?? 'lru'
    this.now = options.now ?? Date.now
    this.timer = new WakeTimer(options.timers ?? realTimers, () => this.pump())
    this.slots = buildSlots({
      limits: normalizeLimits(options, where),
      per: this.per,
      keys: options.keys ?? 1,
      concurrency: this.concurrency,
      origin: this.now(),
      where,
    })
  }

  acquire(options: AcquireOptions): Promise<Permit> {
    const { lane, deadlineMs, signal } = options
    if (this.closed) return Promise.reject(this.closedError())
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = { lane, deadlineMs, resolve, reject, signal, onAbort: undefined }
      if (signal) {
        waiter.onAbort = () => {
          if (this.remove(waiter)) {
            reject(signal.reason)
            this.pump()
          }
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.queues[lane].push(waiter)
      this.pump()
    })
  }

  tryAcquire(options: { lane: Lane }): Permit | undefined {
    if (this.closed) return undefined
    const ahead =
      this.queues.foreground.length + (options.lane === 'background' ? this.queues.background.length : 0)
    if (ahead > 0) return undefined
    const now = this.now()
    const slot = pickKey(this.slots, now, options.lane, this.strategy)
    return slot ? this.grant(slot, options.lane, now) : undefined
  }

  pause(key: number | 'all', untilMs: number, reason: string): void {
    if (key !== 'all' && (!Number.isInteger(key) || key < 0 || key >= this.slots.length)) {
      throw new RangeError(`budget.pause: no key ${key} (the pool has ${this.slots.length})`)
    }
    const targets = key === 'all' ? this.slots : [this.slots[key]!]
    for (const slot of targets) {
      if (untilMs > slot.pausedUntil) {
        slot.pausedUntil = untilMs
        slot.pauseReason = reason
      }
    }
    this.pump()
  }

  snapshot(): BudgetSnapshot {
    const now = this.now()
    return {
      at: now,
      per: this.per,
      ...(Number.isFinite(this.concurrency) ? { concurrency: this.concurrency } : {}),
      waiting: { foreground: this.queues.foreground.length, background: this.queues.background.length },
      keys: this.slots.map((slot) => snapshotSlot(slot, now)),
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.timer.disarm()
    for (const lane of ['foreground', 'background'] as const) {
      for (const waiter of this.queues[lane].splice(0)) this.settle(waiter).reject(this.closedError())
    }
  }

  private closedError(): CisternError {
    return new CisternError('E_CLOSED', `${this.name ? `upstream "${this.name}" ` : ''}budget is closed`)
  }

  private grant(slot: KeySlot, lane: Lane, now: number): Permit {
    return grantOn(slot, lane, now, () => {
      if (this.queues.foreground.length + this.queues.background.length > 0) this.pump()
    })
  }

  private remove(waiter: Waiter): boolean {
    const queue = this.queues[waiter.lane]
    const at = queue.indexOf(waiter)
    if (at < 0) return false
    queue.splice(at, 1)
    return true
  }

  /** Detaches the abort listener; returns the waiter for resolving or rejecting. */
  private settle(waiter: Waiter): Waiter {
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort)
    return waiter
  }

  /**
   * Grants what can be granted now (foreground strictly first, FIFO within a lane), rejects every
   * waiter that provably cannot be served before its deadline, and sets the single timer to the next
   * moment a grant or a deadline is due.
   */
  private pump(): void {
    if (this.closed) return
    const now = this.now()
    for (const lane of ['foreground', 'background'] as const) {
      const queue = this.queues[lane]
      while (queue.length > 0) {
        const slot = pickKey(this.slots, now, lane, this.strategy)
        if (!slot) break
        this.settle(queue.shift()!).resolve(this.grant(slot, lane, now))
      }
      // Background is always at least as constrained as foreground: if foreground waits, so does it.
      if (queue.length > 0) break
    }
    const plan = new Plan(this.slots)
    let wakeAt = Number.POSITIVE_INFINITY
    for (const lane of ['foreground', 'background'] as const) {
      this.queues[lane] = this.queues[lane].filter((waiter) => {
        const estimate = plan.next(now, lane)
        if (estimate.at > waiter.deadlineMs || now >= waiter.deadlineMs) {
          const blockedBy = estimate.at > waiter.deadlineMs ? estimate.reason : 'concurrency'
          const retryAfterMs = Math.max(1, Math.ceil(estimate.at - now))
          this.settle(waiter).reject(new BudgetExceededError(lane, retryAfterMs, blockedBy, this.name))
          return false
        }
        plan.take(estimate)
        wakeAt = Math.min(wakeAt, estimate.at > now ? estimate.at : waiter.deadlineMs)
        return true
      })
    }
    this.timer.arm(wakeAt, now)
  }
}

export function createBudget(options: InProcessBudgetOptions): InProcessBudget {
  return new InProcessBudget(options)
}
