import { CisternError } from '../../util/errors.js'
import { realTimers, type Timers } from '../../util/timers.js'
import { grantOn, type KeySlot, type KeyStrategy, pickKey } from './keys.js'
import { type LimitsOptions, normalizeLimits } from './limits.js'
import { buildSlots, snapshotSlot } from './slots.js'
import type { AcquireOptions, Budget, BudgetSnapshot, Lane, Permit } from './types.js'
import { type Waiter, Waitlist } from './waitlist.js'
import { WakeTimer } from './wake-timer.js'

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
  private readonly timer: WakeTimer
  private readonly waitlist: Waitlist
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
    this.waitlist = new Waitlist({
      slots: this.slots,
      strategy: this.strategy,
      timer: this.timer,
      name: this.name,
      grant: (slot, lane, now) => this.grant(slot, lane, now),
    })
  }

  acquire(options: AcquireOptions): Promise<Permit> {
    const { lane, deadlineMs, signal } = options
    if (this.closed) return Promise.reject(this.closedError())
    if (typeof deadlineMs !== 'number' || Number.isNaN(deadlineMs)) {
      return Promise.reject(
        new TypeError(`budget.acquire: deadlineMs must be a time in ms, got ${deadlineMs}`),
      )
    }
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = { lane, deadlineMs, resolve, reject, signal, onAbort: undefined }
      if (signal) {
        waiter.onAbort = () => {
          if (this.waitlist.remove(waiter)) {
            reject(signal.reason)
            this.pump()
          }
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.waitlist.add(waiter, this.now())
    })
  }

  tryAcquire(options: { lane: Lane }): Permit | undefined {
    if (this.closed) return undefined
    const { lanes } = this.waitlist
    const ahead = lanes.foreground.length + (options.lane === 'background' ? lanes.background.length : 0)
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
      waiting: {
        foreground: this.waitlist.lanes.foreground.length,
        background: this.waitlist.lanes.background.length,
      },
      keys: this.slots.map((slot) => snapshotSlot(slot, now)),
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.timer.disarm()
    this.waitlist.rejectAll(this.closedError())
  }

  private closedError(): CisternError {
    return new CisternError('E_CLOSED', `${this.name ? `upstream "${this.name}" ` : ''}budget is closed`)
  }

  private grant(slot: KeySlot, lane: Lane, now: number): Permit {
    this.waitlist.invalidate()
    return grantOn(slot, lane, now, () => {
      if (this.waitlist.size > 0) this.pump()
    })
  }

  private pump(): void {
    if (!this.closed) this.waitlist.pump(this.now())
  }
}

export function createBudget(options: InProcessBudgetOptions): InProcessBudget {
  return new InProcessBudget(options)
}
