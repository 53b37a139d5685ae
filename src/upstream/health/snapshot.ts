import type { Budget, BudgetSnapshot } from '../budget/types.js'
import type { Breaker, BreakerSnapshot } from './breaker.js'
import type { CallLog, CallRecord } from './call-log.js'

export interface UpstreamSnapshot {
  name: string
  breaker: BreakerSnapshot
  budget?: BudgetSnapshot
  recentCalls: CallRecord[]
}

/** Everything the admin API and metrics show for one upstream, in one plain object. */
export function snapshotUpstream(
  name: string,
  parts: { breaker: Breaker; budget?: Budget; log?: CallLog; recentCalls?: number },
): UpstreamSnapshot {
  return {
    name,
    breaker: parts.breaker.snapshot(),
    ...(parts.budget ? { budget: parts.budget.snapshot() } : {}),
    recentCalls: parts.log ? parts.log.entries(parts.recentCalls) : [],
  }
}
