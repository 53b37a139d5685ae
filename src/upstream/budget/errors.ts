import type { Lane } from './types.js'

/** Why no permit could be had in time. */
export type BudgetExceededReason = 'rate' | 'paused' | 'concurrency'

/**
 * No permit could be had before the deadline. `retryAfterMs` is when one could next be expected (for a
 * `Retry-After` header or to decide to serve stale). Its `code` is stable for branching.
 *
 * Not a CisternError yet: the shared ErrorCode union (src/util/errors.ts) has no budget code.
 */
export class BudgetExceededError extends Error {
  readonly code = 'E_BUDGET_EXCEEDED' as const
  readonly retryAfterMs: number
  readonly lane: Lane
  readonly reason: BudgetExceededReason

  constructor(lane: Lane, retryAfterMs: number, reason: BudgetExceededReason, upstream?: string) {
    const where = upstream ? `upstream "${upstream}"` : 'upstream'
    super(`${where} budget: no ${lane} permit before the deadline (${reason}); retry in ${retryAfterMs}ms`)
    this.name = 'BudgetExceededError'
    this.retryAfterMs = retryAfterMs
    this.lane = lane
    this.reason = reason
  }
}
