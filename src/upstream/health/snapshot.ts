import type { Budget, BudgetSnapshot } from '../budget/types.js'
import type { Breaker, BreakerSnapshot, BreakerState } from './breaker.js'
import type { CallLog, CallRecord } from './call-log.js'

/** The last call that failed, of any kind (a 429 included, which the breaker does not count). */
export interface LastError {
  message: string
  at: number
  status?: number
}

export interface UpstreamSnapshot {
  name: string
  /** The base URL, with any credentials removed. */
  url?: string
  /** The breaker's state: UP, DOWN or PROBING. */
  state: BreakerState
  lastError?: LastError
  breaker: BreakerSnapshot
  /** Tokens left, calls in the last minute and hour, paused-until per key, waiters per lane. */
  budget?: BudgetSnapshot
  /** Oldest first. */
  recentCalls: CallRecord[]
  /** Calls refused before they were sent: by the breaker (DOWN) or by the budget (no permit in time). */
  refused?: { breaker: number; budget: number }
}

/** Everything the admin API and metrics show for one upstream, in one plain object. */
export function snapshotUpstream(
  name: string,
  parts: {
    breaker: Breaker
    budget?: Budget
    log?: CallLog
    recentCalls?: number
    url?: string
    lastError?: LastError
    refused?: { breaker: number; budget: number }
  },
): UpstreamSnapshot {
  const breaker = parts.breaker.snapshot()
  const lastError = parts.lastError ?? breaker.lastError
  return {
    name,
    ...(parts.url !== undefined && { url: parts.url }),
    state: breaker.state,
    ...(lastError && { lastError }),
    breaker,
    ...(parts.budget ? { budget: parts.budget.snapshot() } : {}),
    recentCalls: parts.log ? parts.log.entries(parts.recentCalls) : [],
    ...(parts.refused && { refused: parts.refused }),
  }
}
