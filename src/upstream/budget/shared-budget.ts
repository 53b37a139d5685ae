import { CisternError } from '../../util/errors.js'
import { realTimers, type Timers } from '../../util/timers.js'
import { BudgetExceededError } from './errors.js'
import { Bucket } from './gcra.js'
import { type Limit, normalizeLimits } from './limits.js'
import { createBudget, type InProcessBudget, type InProcessBudgetOptions } from './memory-budget.js'
import type {
  AcquireOptions,
  BucketRate,
  Budget,
  BudgetSnapshot,
  Lane,
  Permit,
  SharedLimits,
  TakeResult,
} from './types.js'
import { WakeTimer } from './wake-timer.js'

export interface SharedBudgetOptions extends InProcessBudgetOptions {
  /** The ceiling every instance shares, and whether its server answers. */
  shared: SharedLimits
  /** While on its local share, how often the budget asks the server again (default 500 ms). */
  probeMs?: number
  /**
   * On its way back the budget pauses the shared buckets this long (default: probeMs + 1000 ms, the
   * connection's longest reconnect backoff), so every other instance still on its local share has
   * reconnected and asked too (and stopped spending its share) before the server grants again: no
   * burst on recovery.
   */
  recoveryPauseMs?: number
}

/** One shared bucket to take from, in order. */
interface SharedTake {
  bucket: string
  rate: BucketRate
}

interface Entry {
  lane: Lane
  deadlineMs: number
  resolve(): void
  reject(error: unknown): void
  deadlineTimer: unknown
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/**
 * A budget for an upstream several cistern instances call: the in-process budget keeps this
 * instance's order, lanes, concurrency cap, deadlines and pauses (and never grants over the whole
 * ceiling on its own); each permit it grants must then also be taken from the shared ceiling (GCRA on
 * the store server's clock) before the call goes. A permit the ceiling defers waits on a timer, one
 * ask in flight per key, within its deadline.
 *
 * When the server does not answer it fails closed, never open: each instance then spends a local
 * share (the rate ÷ the live instances last seen, its bucket starting empty, so nothing granted before
 * the outage is spent twice), until the server answers again. Over any window the instances together
 * stay within rate × W + burst (for a burst of at least the instance count: each local share holds at
 * least one token).
 */
export class SharedBudget implements Budget {
  readonly name: string | undefined
  /** One permit's interval at the fastest rate (0 without a rate). */
  readonly intervalMs: number
  readonly #local: InProcessBudget
  readonly #shared: SharedLimits
  readonly #limits: Limit[]
  readonly #per: 'upstream' | 'key'
  readonly #keys: number
  readonly #now: () => number
  readonly #timers: Timers
  readonly #probeMs: number
  readonly #recoveryPauseMs: number
  readonly #gates: CeilingGate[]
  /** How long before a waiter's deadline the local budget must have granted it (see acquire). */
  readonly #headroomMs: number
  /** Set while on the local share: one bucket per shared bucket (so one, or one per key), starting empty. */
  #localShare: Bucket[] | undefined
  #probeTimer: unknown
  #probing = false
  #closed = false

  constructor(options: SharedBudgetOptions) {
    const { shared, probeMs, recoveryPauseMs, ...local } = options
    this.name = options.name
    this.#local = createBudget(local)
    this.#shared = shared
    this.#limits = normalizeLimits(local, options.name ? `upstreams.${options.name}.budget` : 'budget')
    this.#per = options.per ?? 'upstream'
    this.#keys = options.keys ?? 1
    this.#now = options.now ?? Date.now
    this.#timers = options.timers ?? realTimers
    this.#probeMs = probeMs ?? 500
    this.#recoveryPauseMs = recoveryPauseMs ?? this.#probeMs + 1000
    const fastest = Math.min(...this.#limits.map((limit) => limit.perMs / limit.count))
    this.intervalMs = Number.isFinite(fastest) ? fastest : 0
    // Two permit intervals of the fastest rate, plus a round trip to the server.
    this.#headroomMs = 2 * this.intervalMs + 50
    this.#gates = Array.from({ length: this.#keys }, (_, key) => new CeilingGate(this, key, this.#timers))
  }

  async acquire(options: AcquireOptions): Promise<Permit> {
    // The local budget must leave time to ask the server: a permit it grants at the very deadline
    // would be spent here and refused there.
    const now = this.#now()
    const headroom = Math.min((options.deadlineMs - now) / 4, this.#headroomMs)
    const permit = await this.#local.acquire({
      ...options,
      deadlineMs: options.deadlineMs - Math.max(0, headroom),
    })
    try {
      await this.#gates[permit.keyIndex]!.pass(options, this.#now())
    } catch (error) {
      permit.release()
      throw error
    }
    return {
      keyIndex: permit.keyIndex,
      lane: permit.lane,
      grantedAt: this.#now(),
      release: () => permit.release(),
    }
  }

  /** Only on the local share can a permit be had without asking the server (which is never synchronous). */
  tryAcquire(options: { lane: Lane }): Permit | undefined {
    if (!this.#localShare) return undefined
    const permit = this.#local.tryAcquire(options)
    if (!permit) return undefined
    if (this.takeLocal(permit.keyIndex, options.lane, this.#now()) === true) return permit
    permit.release()
    return undefined
  }

  pause(key: number | 'all', untilMs: number, reason: string): void {
    this.#local.pause(key, untilMs, reason)
    const forMs = untilMs - this.#now()
    if (!(forMs > 0)) return
    // The other instances learn of it on their next take; when the server does not answer, the pause
    // holds here (and the local share keeps the rest of the cluster within its ceiling anyway).
    for (const bucket of this.#pauseTargets(key)) {
      this.#shared.ceiling.pause(bucket, forMs, reason).catch(() => {})
    }
  }

  snapshot(): BudgetSnapshot {
    const snapshot = this.#local.snapshot()
    for (const gate of this.#gates) {
      snapshot.waiting.foreground += gate.waiting('foreground')
      snapshot.waiting.background += gate.waiting('background')
    }
    return snapshot
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#probeTimer !== undefined) this.#timers.clear(this.#probeTimer)
    this.#local.close()
    const error = new CisternError(
      'E_CLOSED',
      `${this.name ? `upstream "${this.name}" ` : ''}budget is closed`,
    )
    for (const gate of this.#gates) gate.close(error)
  }

  /** The budget clock (ms). */
  now(): number {
    return this.#now()
  }

  get closed(): boolean {
    return this.#closed
  }

  /** True while the server does not answer and this instance spends its local share. */
  get onLocalShare(): boolean {
    return this.#localShare !== undefined
  }

  /** The shared buckets a permit on `key` takes from, in order (see #takesFor). */
  async takeShared(key: number, lane: Lane): Promise<TakeResult> {
    if (!this.#shared.healthy()) throw new CisternError('E_STORE', 'the shared ceiling is unavailable')
    let result: TakeResult = { granted: true }
    for (const { bucket, rate } of this.#takesFor(key)) {
      result = await this.#shared.ceiling.take(bucket, rate, lane)
      if (!result.granted) {
        if (result.pausedFor !== undefined) {
          // Known here too: local waiters who cannot outlast it are told at once, snapshots show it.
          this.#local.pause(key, this.#now() + result.retryInMs, result.pausedFor)
        }
        return result
      }
    }
    return result
  }

  /** A permit from the local share, if it has one now; else when it will (budget clock). */
  takeLocal(key: number, lane: Lane, now: number): true | number {
    const share = this.#localShare![this.#per === 'key' ? key : 0]!
    const at = share.earliest(now, lane)
    if (at > Math.floor(now)) return at
    share.take(now)
    return true
  }

  /**
   * The server did not answer: from now on spend the local share. It starts empty, so together with
   * what the server granted before it no window sees more than the ceiling.
   */
  enterLocalShare(): void {
    if (this.#localShare || this.#closed) return
    const now = this.#now()
    const instances = Math.max(1, Math.floor(this.#shared.ceiling.liveInstances()))
    const limits = shareOf(this.#limits, instances)
    const empty = limits.map((limit) => limit.burst * limit.interval)
    const count = this.#per === 'key' ? this.#keys : 1
    this.#localShare = Array.from({ length: count }, () => new Bucket(limits, now, empty))
    this.#scheduleProbe()
  }

  #scheduleProbe(): void {
    if (this.#closed) return
    this.#probeTimer = this.#timers.set(() => {
      this.#probeTimer = undefined
      void this.#probe()
    }, this.#probeMs)
  }

  /**
   * Back to the shared ceiling once the server answers: first pause every shared bucket (see
   * recoveryPauseMs). Instances still on their local share reconnect and ask within that time, find
   * the pause and stop spending their share; only then does the server grant again, from a bucket that never saw the
   * local grants — so the local share must not have over-spent, and cannot have (see enterLocalShare).
   */
  async #probe(): Promise<void> {
    if (this.#probing || this.#closed) return
    this.#probing = true
    try {
      // Without a rate there is no ceiling the local shares could have over-spent together, so nothing
      // to pause: a recovery pause would only refuse every call of every instance for recoveryPauseMs,
      // a 5xx caused by the store and by nothing else.
      if (this.#limits.length > 0) {
        await Promise.all(
          this.#pauseTargets('all').map((bucket) =>
            this.#shared.ceiling.pause(bucket, this.#recoveryPauseMs, 'recovering from a store outage'),
          ),
        )
      }
      if (!this.#shared.healthy()) throw new Error('not healthy yet')
      this.#localShare = undefined
      for (const gate of this.#gates) gate.pump()
    } catch {
      this.#scheduleProbe()
    } finally {
      this.#probing = false
    }
  }

  /**
   * Which shared buckets a permit on `key` takes from, in order: the key's own pause when the keys
   * share one rate, then each rate's bucket, the fastest-refilling first (a permit taken from an
   * earlier bucket is wasted when a later one refuses; better a per-second one than an hourly one).
   * An upstream without a rate still shares its pauses through a bucket of interval 0.
   */
  #takesFor(key: number): SharedTake[] {
    const base = this.#base(key)
    const takes: SharedTake[] = []
    if (this.#per === 'upstream' && this.#keys > 1) {
      takes.push({ bucket: `${base}/key${key}/pause`, rate: { intervalMs: 0, burst: 1, reserve: 0 } })
    }
    if (this.#limits.length === 0) {
      if (takes.length === 0) takes.push({ bucket: base, rate: { intervalMs: 0, burst: 1, reserve: 0 } })
      return takes
    }
    const rates = this.#limits.map((limit, i) => ({
      bucket: this.#limits.length > 1 ? `${base}#${i}` : base,
      rate: { intervalMs: limit.perMs / limit.count, burst: limit.burst, reserve: limit.reserve },
    }))
    rates.sort((a, b) => a.rate.intervalMs - b.rate.intervalMs)
    return [...takes, ...rates]
  }

  /**
   * The buckets that hold a pause on `key` (or on every key): the first bucket each take asks, so a
   * paused take is refused before any bucket spends a token on it. With `per: 'upstream'` several keys
   * may share that bucket (one key, or no per-key pause), hence the Set.
   */
  #pauseTargets(key: number | 'all'): string[] {
    const keys = key === 'all' ? Array.from({ length: this.#keys }, (_, k) => k) : [key]
    return [...new Set(keys.map((k) => this.#takesFor(k)[0]!.bucket))]
  }

  #base(key: number): string {
    const name = this.name ?? 'upstream'
    return this.#per === 'key' ? `${name}/key${key}` : name
  }
}

/** Each instance's share of the rates: rate ÷ instances, burst ÷ instances (at least one token). */
function shareOf(limits: readonly Limit[], instances: number): Limit[] {
  if (limits.length === 0) return []
  return normalizeLimits({
    rate: limits.map((limit) => {
      const burst = Math.max(1, Math.floor(limit.burst / instances))
      return {
        rate: { count: limit.count, perMs: limit.perMs * instances },
        burst,
        reserve: (limit.reserve * burst) / limit.burst,
      }
    }),
  })
}

/** Asks in flight at once per key: enough to keep up with the rate when the store answers slowly. */
const MAX_ASKS = 4

/**
 * The waiters of one key for a shared permit, foreground first and FIFO within a lane. Up to
 * MAX_ASKS asks are in flight, never more than there are waiters; once the server defers one, nobody
 * asks again before the time it named. Each waiter is rejected at its deadline, or at once when the
 * server's answer already lies past it.
 */
class CeilingGate {
  readonly #budget: SharedBudget
  readonly #key: number
  readonly #timers: Timers
  readonly #lanes: Record<Lane, Entry[]> = { foreground: [], background: [] }
  readonly #timer: WakeTimer
  #asking = 0
  /** Budget clock: no ask before this (the server said no permit until then). */
  #notBefore = Number.NEGATIVE_INFINITY

  constructor(budget: SharedBudget, key: number, timers: Timers) {
    this.#budget = budget
    this.#key = key
    this.#timers = timers
    this.#timer = new WakeTimer(timers, () => this.pump())
  }

  waiting(lane: Lane): number {
    return this.#lanes[lane].length
  }

  pass(options: AcquireOptions, now: number): Promise<void> {
    const { lane, deadlineMs, signal } = options
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = {
        lane,
        deadlineMs,
        resolve,
        reject,
        deadlineTimer: undefined,
        signal,
        onAbort: undefined,
      }
      entry.deadlineTimer = this.#timers.set(
        () => {
          // When a permit could next be expected: the time the server named, or else one interval.
          const retryInMs = Math.max(this.#notBefore - this.#budget.now(), this.#budget.intervalMs, 1)
          this.#drop(entry, new BudgetExceededError(lane, Math.ceil(retryInMs), 'rate', this.#budget.name))
        },
        Math.max(0, deadlineMs - now),
      )
      if (signal) {
        entry.onAbort = () => this.#drop(entry, signal.reason)
        signal.addEventListener('abort', entry.onAbort, { once: true })
      }
      this.#lanes[lane].push(entry)
      this.pump()
    })
  }

  close(error: unknown): void {
    this.#timer.disarm()
    for (const lane of ['foreground', 'background'] as const) {
      for (const entry of this.#lanes[lane].splice(0)) this.#settle(entry).reject(error)
    }
  }

  /** Serves waiters while permits can be had now; else sleeps until one could. */
  pump(): void {
    if (this.#budget.closed) return
    const now = this.#budget.now()
    if (this.#budget.onLocalShare) {
      for (let head = this.#head(); head; head = this.#head()) {
        const at = this.#budget.takeLocal(this.#key, head.lane, now)
        if (at !== true) {
          this.#timer.arm(at, now)
          return
        }
        this.#grant(head.lane)
      }
      this.#timer.disarm()
      return
    }
    if (now < this.#notBefore) {
      if (this.#head()) this.#timer.arm(this.#notBefore, now)
      return
    }
    const order = [...this.#lanes.foreground, ...this.#lanes.background]
    while (this.#asking < Math.min(MAX_ASKS, order.length)) void this.#ask(order[this.#asking]!.lane)
  }

  async #ask(lane: Lane): Promise<void> {
    this.#asking++
    let result: TakeResult
    try {
      result = await this.#budget.takeShared(this.#key, lane)
    } catch {
      // Unreachable (timeout, connection refused, breaker open): fail closed to the local share.
      this.#asking--
      this.#budget.enterLocalShare()
      this.pump()
      return
    }
    this.#asking--
    if (result.granted) {
      this.#grant(lane)
      this.pump()
      return
    }
    const now = this.#budget.now()
    this.#notBefore = Math.max(this.#notBefore, now + result.retryInMs)
    const reason = result.pausedFor !== undefined ? 'paused' : 'rate'
    // Nobody waiting here can be served before the server's answer: those whose deadline is earlier are told now.
    for (const queued of ['foreground', 'background'] as const) {
      for (const entry of [...this.#lanes[queued]]) {
        if (entry.deadlineMs < now + result.retryInMs) {
          this.#drop(entry, new BudgetExceededError(entry.lane, result.retryInMs, reason, this.#budget.name))
        }
      }
    }
    this.pump()
  }

  /**
   * Hands a permit taken for `lane` to the first waiter it may serve (a background permit left the
   * reserve alone, so it serves either lane; a foreground one only the foreground). None left: unused.
   */
  #grant(lane: Lane): void {
    const queue = this.#lanes.foreground.length > 0 ? this.#lanes.foreground : this.#lanes.background
    const entry = queue[0]
    if (!entry || (lane === 'foreground' && entry.lane === 'background')) return
    queue.shift()
    this.#settle(entry).resolve()
  }

  #head(): Entry | undefined {
    return this.#lanes.foreground[0] ?? this.#lanes.background[0]
  }

  #drop(entry: Entry, error: unknown): void {
    const queue = this.#lanes[entry.lane]
    const at = queue.indexOf(entry)
    if (at < 0) return
    queue.splice(at, 1)
    this.#settle(entry).reject(error)
  }

  #settle(entry: Entry): Entry {
    this.#timers.clear(entry.deadlineTimer)
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort)
    return entry
  }
}

export function createSharedBudget(options: SharedBudgetOptions): SharedBudget {
  return new SharedBudget(options)
}
