import type { UpstreamConfig } from '../config/types.js'
import type { Timers } from '../util/timers.js'
import type { Rate } from '../util/units.js'
import type { Budget, SharedLimits } from './budget/index.js'
import { createBudget, createSharedBudget, type InProcessBudgetOptions } from './budget/index.js'
import { keyCount } from './client/auth.js'
import { UpstreamClient } from './client/client.js'
import { Breaker } from './health/breaker.js'
import { CallLog, type CallRecord } from './health/call-log.js'
import type { UpstreamSnapshot } from './health/snapshot.js'

export interface Upstream {
  config: UpstreamConfig
  /** Answers a usable response or throws UpstreamFailure; see UpstreamClient. */
  client: UpstreamClient
  /** Always present: with no configured rate it still holds the concurrency cap and the pauses. */
  budget: Budget | undefined
  breaker: Breaker
  /** The bounded log of recent calls (URLs without secrets). */
  log: CallLog
  /**
   * State for the admin API and metrics: base URL without secrets, UP/DOWN/PROBING, last error,
   * budget (tokens left, calls in the last minute and hour, paused-until per key), recent calls.
   */
  snapshot(recentCalls?: number): UpstreamSnapshot
  /** Hear every call sent (after it is logged). Returns the unsubscribe function. Must not throw. */
  onCall(listener: (call: CallRecord) => void): () => void
}

/**
 * An upstream from its config: breaker, budget and call log around an undici pool. `timers` wakes the
 * budget's waiters on the `now` clock (default: real timers). With `shared` (several instances on one
 * store server) the budget also takes each permit from the ceiling they share.
 */
export function createUpstream(
  config: UpstreamConfig,
  maxResponseSize: number,
  now: () => number = Date.now,
  timers?: Timers,
  shared?: SharedLimits,
): Upstream {
  const { budget: limits } = config
  const budgetOptions: InProcessBudgetOptions = {
    name: config.name,
    rate: limits.rate.map(rateLabel),
    // No rate configured: no ceiling, but 429 pauses and the concurrency cap still need a home.
    unlimited: true,
    burst: limits.burst,
    reserve: limits.reserve.kind === 'count' ? limits.reserve.value : `${limits.reserve.value * 100}%`,
    per: limits.per,
    keys: keyCount(config.auth),
    concurrency: limits.concurrency,
    now,
    ...(timers && { timers }),
  }
  const budget = shared ? createSharedBudget({ ...budgetOptions, shared }) : createBudget(budgetOptions)
  const maxWait = {
    // A client's wait for a permit is part of its `timeout`, never more.
    foreground: Math.min(limits.maxWait.foreground, config.timeout),
    background: limits.maxWait.background,
  }
  const breaker = new Breaker({
    failureThreshold: config.breaker.failures,
    cooldownMs: config.breaker.cooldown,
    // The probe waits at most the foreground wait for a permit, then at most `timeout` for its answer.
    probeTimeoutMs: maxWait.foreground + config.timeout + 1000,
    now,
  })
  const listeners = new Set<(call: CallRecord) => void>()
  const log = new NotifyingLog(listeners)
  const client = new UpstreamClient({
    name: config.name,
    url: config.url,
    auth: config.auth,
    timeouts: { ...config.timeouts, total: config.timeout },
    maxResponseSize,
    budget,
    maxWait,
    retries: { max: config.retries.max, backoffMs: config.retries.backoff },
    pauseOn: config.pauseOn,
    breaker,
    log,
    now,
  })
  return {
    config,
    client,
    budget,
    breaker,
    log,
    snapshot: (recentCalls) => client.snapshot(recentCalls),
    onCall(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

const UNITS: Array<[number, string]> = [
  [1000, 's'],
  [60_000, 'm'],
  [3_600_000, 'h'],
  [86_400_000, 'd'],
]

/** `20/s` rather than `20/1000ms`, so snapshots read like the config. */
function rateLabel(rate: Rate): string {
  const unit = UNITS.find(([ms]) => ms === rate.perMs)
  return unit ? `${rate.count}/${unit[1]}` : `${rate.count}/${rate.perMs}ms`
}

/** The call log that also tells subscribers (metrics, the admin API) about each call. */
class NotifyingLog extends CallLog {
  readonly #listeners: ReadonlySet<(call: CallRecord) => void>

  constructor(listeners: ReadonlySet<(call: CallRecord) => void>) {
    super(200)
    this.#listeners = listeners
  }

  override add(record: CallRecord): void {
    super.add(record)
    for (const listener of this.#listeners) listener(record)
  }
}
