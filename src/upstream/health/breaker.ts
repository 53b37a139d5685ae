import { WindowCounter } from '../budget/counter.js'

export type BreakerState = 'UP' | 'DOWN' | 'PROBING'

export interface BreakerOptions {
  /** DOWN after this many failures in a row (default 5). */
  failureThreshold?: number
  /** Optionally also DOWN when, over `windowMs`, at least `minVolume` calls failed at `threshold` (0..1). */
  errorRate?: { threshold: number; windowMs: number; minVolume: number }
  /**
   * The longest wait DOWN before a probe (default 30 s). The first probe goes after `firstProbeMs`,
   * the wait doubling with each failed probe up to this.
   */
  cooldownMs?: number
  /** Wait DOWN before the first probe after a trip (default 1 s; never more than `cooldownMs`). */
  firstProbeMs?: number
  /** A probe that reports nothing for this long counts as failed (default 30 s). */
  probeTimeoutMs?: number
  now?: () => number
  /** Called after every state change. Must not throw. */
  onStateChange?: (change: BreakerChange) => void
}

export interface BreakerChange {
  from: BreakerState
  to: BreakerState
  at: number
  reason: string
}

export interface BreakerSnapshot {
  state: BreakerState
  since: number
  consecutiveFailures: number
  lastError?: { message: string; at: number }
  /** When DOWN: when the next probe may go. */
  nextProbeAt?: number
  /** Probes that failed since the upstream went DOWN (each doubles the wait before the next). */
  failedProbes: number
  /** Calls and failures in the error-rate window, when one is configured. */
  window?: { calls: number; failures: number }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : error === undefined ? 'failure' : String(error)
  return text.length > 300 ? `${text.slice(0, 297)}...` : text
}

/**
 * A circuit breaker per upstream. UP: calls pass. DOWN: none pass until the wait ends; then
 * `canRequest()` lets exactly one probe through (PROBING). The probe's success brings it UP, its
 * failure (or silence past probeTimeoutMs) takes it DOWN again. The first wait is short (1 s): most
 * outages are a restart or a blip, and every uncached request fails while DOWN. Each failed probe
 * doubles the wait up to `cooldownMs`, so a long outage costs the upstream one probe per cool-down.
 * No timers: time is read from the clock whenever the breaker is asked.
 */
export class Breaker {
  private readonly threshold: number
  private readonly cooldownMs: number
  private readonly firstProbeMs: number
  private readonly probeTimeoutMs: number
  private readonly errorRate: BreakerOptions['errorRate']
  private readonly now: () => number
  private readonly onStateChange: ((change: BreakerChange) => void) | undefined
  private readonly calls: WindowCounter | undefined
  private readonly failures: WindowCounter | undefined
  private current: BreakerState = 'UP'
  private since: number
  private consecutive = 0
  private failedProbes = 0
  private probeStartedAt = 0
  /** While DOWN: when the next probe may go (the end of the cool-down, or now after an unsent probe). */
  private probeAt = 0
  private lastError: { message: string; at: number } | undefined

  constructor(options: BreakerOptions = {}) {
    this.threshold = options.failureThreshold ?? 5
    this.cooldownMs = options.cooldownMs ?? 30_000
    this.firstProbeMs = Math.min(options.firstProbeMs ?? 1000, this.cooldownMs)
    this.probeTimeoutMs = options.probeTimeoutMs ?? 30_000
    if (!Number.isInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError(`breaker: failureThreshold must be an integer >= 1, got ${this.threshold}`)
    }
    this.errorRate = options.errorRate
    this.now = options.now ?? Date.now
    this.onStateChange = options.onStateChange
    this.since = this.now()
    if (this.errorRate) {
      const bucketMs = Math.max(1, this.errorRate.windowMs / 10)
      this.calls = new WindowCounter(bucketMs, 10)
      this.failures = new WindowCounter(bucketMs, 10)
    }
  }

  get state(): BreakerState {
    this.expireProbe()
    return this.current
  }

  /** May a call go now? While DOWN past the cool-down, the first caller becomes the one probe. */
  canRequest(): boolean {
    this.expireProbe()
    if (this.current === 'UP') return true
    if (this.current === 'PROBING') return false
    const now = this.now()
    if (now < this.probeAt) return false
    this.probeStartedAt = now
    this.move('PROBING', 'cool-down over, probing')
    return true
  }

  /** Time until a call may be tried (for Retry-After): 0 when UP. */
  retryAfterMs(): number {
    const state = this.state
    if (state === 'UP') return 0
    const now = this.now()
    if (state === 'DOWN') return Math.max(0, this.probeAt - now)
    return Math.max(0, this.probeStartedAt + this.probeTimeoutMs - now)
  }

  /** Report a success. `startedAt`: when the call was sent; calls older than the probe are ignored. */
  onSuccess(startedAt?: number): void {
    this.expireProbe()
    this.calls?.add(this.now())
    if (this.current === 'UP') {
      this.consecutive = 0
    } else if (this.current === 'PROBING' && !this.stale(startedAt)) {
      this.reset()
      this.move('UP', 'probe succeeded')
    }
  }

  /** Report a failure (5xx, timeout, transport error, bad body). */
  onFailure(error?: unknown, startedAt?: number): void {
    this.expireProbe()
    const now = this.now()
    this.lastError = { message: describe(error), at: now }
    this.calls?.add(now)
    this.failures?.add(now)
    if (this.current === 'UP') {
      this.consecutive++
      if (this.consecutive >= this.threshold) this.trip(`${this.consecutive} failures in a row`)
      else if (this.rateTripped()) this.trip('error rate over threshold')
    } else if (this.current === 'PROBING' && !this.stale(startedAt)) {
      this.consecutive++
      this.failedProbes++
      this.trip('probe failed')
    }
  }

  /**
   * The probe `canRequest()` let through was never sent (no budget permit, caller gone): it tells
   * nothing about the upstream, so go back to DOWN with the next probe allowed at once rather than
   * blocking every call until the probe timeout.
   */
  abandonProbe(): void {
    if (this.current !== 'PROBING') return
    this.move('DOWN', 'probe not sent')
    this.probeAt = this.since
  }

  snapshot(): BreakerSnapshot {
    const state = this.state
    const now = this.now()
    return {
      state,
      since: this.since,
      consecutiveFailures: this.consecutive,
      ...(this.lastError ? { lastError: { ...this.lastError } } : {}),
      ...(state === 'DOWN' ? { nextProbeAt: this.probeAt } : {}),
      failedProbes: this.failedProbes,
      ...(this.calls && this.failures && this.errorRate
        ? {
            window: {
              calls: this.calls.sum(now, this.errorRate.windowMs),
              failures: this.failures.sum(now, this.errorRate.windowMs),
            },
          }
        : {}),
    }
  }

  private stale(startedAt: number | undefined): boolean {
    return startedAt !== undefined && startedAt < this.probeStartedAt
  }

  private rateTripped(): boolean {
    if (!this.errorRate || !this.calls || !this.failures) return false
    const now = this.now()
    const calls = this.calls.sum(now, this.errorRate.windowMs)
    const failures = this.failures.sum(now, this.errorRate.windowMs)
    return calls >= this.errorRate.minVolume && failures / calls >= this.errorRate.threshold
  }

  private expireProbe(): void {
    if (this.current === 'PROBING' && this.now() >= this.probeStartedAt + this.probeTimeoutMs) {
      this.lastError = { message: 'probe timed out', at: this.now() }
      this.failedProbes++
      this.trip('probe timed out')
    }
  }

  /** DOWN until the next probe: firstProbeMs × 2^(failed probes), at most cooldownMs. */
  private trip(reason: string): void {
    this.move('DOWN', reason)
    const wait = this.firstProbeMs * 2 ** Math.min(this.failedProbes, 30)
    this.probeAt = this.since + Math.min(this.cooldownMs, wait)
  }

  private reset(): void {
    this.consecutive = 0
    this.failedProbes = 0
    this.calls?.clear()
    this.failures?.clear()
  }

  private move(to: BreakerState, reason: string): void {
    const from = this.current
    const at = this.now()
    this.current = to
    this.since = at
    this.onStateChange?.({ from, to, at, reason })
  }
}
