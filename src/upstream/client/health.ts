import type { Budget, Lane } from '../budget/types.js'
import { Breaker } from '../health/breaker.js'
import { CallLog } from '../health/call-log.js'
import type { Verdict } from '../health/outcome.js'
import { snapshotUpstream, type UpstreamSnapshot } from '../health/snapshot.js'
import { UpstreamFailure } from './failure.js'

export interface HealthOptions {
  name: string
  /** The base URL as shown in snapshots: credentials already removed. */
  url: string
  breaker?: Breaker
  log?: CallLog
  budget?: Budget
  /** Budget clock (ms). */
  now: () => number
}

/** One sent call, as the client saw it, for the books. */
export interface SettledCall {
  verdict: Verdict
  error: string | undefined
  status: number | undefined
  keyIndex: number
  lane: Lane
  method: string
  /** Redacted URL. */
  url: string
  /** Budget clock, when the call went out. */
  sentAt: number
  durationMs: number
  probe: boolean
}

/**
 * The health side of one upstream: the breaker that gates calls, pauses handed to the budget, the
 * call log, the last error and counts of calls refused before they were sent. The client asks it
 * before a call (`gate`) and reports every sent call to it (`settle`).
 */
export class UpstreamHealth {
  readonly breaker: Breaker
  readonly log: CallLog
  readonly #options: HealthOptions
  /** 429s in a row per key, for the backoff exponent when there is no Retry-After. */
  readonly #streaks = new Map<number, number>()
  #lastError: { message: string; at: number; status?: number } | undefined
  readonly #refused = { breaker: 0, budget: 0 }

  constructor(options: HealthOptions) {
    this.#options = options
    this.breaker = options.breaker ?? new Breaker({ now: options.now })
    this.log = options.log ?? new CallLog()
  }

  /**
   * May a call go? Returns whether it is the breaker's one probe. While DOWN (or while another call is
   * the probe) it throws at once: the caller serves a stored copy or a quick 503, never waits.
   */
  gate(): { probe: boolean } {
    const wasUp = this.breaker.state === 'UP'
    if (this.breaker.canRequest()) return { probe: !wasUp }
    this.#refused.breaker++
    const snapshot = this.breaker.snapshot()
    const retryAfterMs = snapshot.state === 'DOWN' ? Math.max(1000, this.breaker.retryAfterMs()) : 1000
    const why = snapshot.lastError ? `: ${snapshot.lastError.message}` : ''
    // The last error goes to the logs only: it is the transport's words, address and all.
    throw new UpstreamFailure(this.#options.name, 'unavailable', `is ${snapshot.state}${why}`, {
      retryAfterMs,
      shown: `is ${snapshot.state} (circuit breaker open)`,
    })
  }

  /**
   * The call never left (no permit in time, caller gone, no OAuth token): it says nothing about the
   * upstream itself. `error`, when it is worth showing an operator, becomes the last error.
   */
  notSent(probe: boolean, refusedByBudget: boolean, error?: { message: string; status?: number }): void {
    if (refusedByBudget) this.#refused.budget++
    if (probe) this.breaker.abandonProbe()
    if (error) this.#lastError = { ...error, at: this.#options.now() }
  }

  /** 429s in a row on `keyIndex`, counting the one being judged. */
  streak(keyIndex: number): number {
    return (this.#streaks.get(keyIndex) ?? 0) + 1
  }

  settle(call: SettledCall): void {
    const { verdict, keyIndex, sentAt } = call
    const now = this.#options.now()
    if (verdict.outcome === 'rate-limited') this.#streaks.set(keyIndex, this.streak(keyIndex))
    else if (verdict.outcome === 'ok') this.#streaks.delete(keyIndex)
    const pause = verdict.pause
    if (pause && this.#options.budget) {
      // A pause counts from when the answer arrived, and never shortens one already in force.
      this.#options.budget.pause(pause.scope === 'key' ? keyIndex : 'all', now + pause.ms, pause.reason)
    }
    if (verdict.breaker === 'success') this.breaker.onSuccess(sentAt)
    else if (verdict.breaker === 'failure') this.breaker.onFailure(new Error(call.error), sentAt)
    else if (call.probe) this.breaker.abandonProbe()
    if (call.error !== undefined) {
      this.#lastError = {
        message: call.error,
        at: now,
        ...(call.status !== undefined && { status: call.status }),
      }
    }
    this.log.add({
      at: sentAt,
      method: call.method,
      url: call.url,
      ...(call.status !== undefined && { status: call.status }),
      durationMs: Math.round(call.durationMs),
      lane: call.lane,
      keyIndex,
      outcome: verdict.outcome,
      ...(call.error !== undefined && { error: call.error }),
    })
  }

  snapshot(recentCalls?: number): UpstreamSnapshot {
    const { name, url, budget } = this.#options
    return snapshotUpstream(name, {
      url,
      breaker: this.breaker,
      ...(budget && { budget }),
      log: this.log,
      ...(recentCalls !== undefined && { recentCalls }),
      ...(this.#lastError && { lastError: { ...this.#lastError } }),
      refused: { ...this.#refused },
    })
  }
}
