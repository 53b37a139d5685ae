import { CisternError } from '../../util/errors.js'
import type { Lane } from './types.js'

/** Why no permit could be had in time. */
export type BudgetExceededReason = 'rate' | 'paused' | 'concurrency'

/**
 * No permit could be had before the deadline (code `E_BUDGET`). `retryAfterMs` is when one could next
 * be expected — for a `Retry-After` header, or to decide to serve a stale copy instead.
 */
export class BudgetExceededError extends CisternError {
  readonly retryAfterMs: number
  readonly lane: Lane
  readonly reason: BudgetExceededReason

  constructor(lane: Lane, retryAfterMs: number, reason: BudgetExceededReason, upstream?: string) {
    const where = upstream ? `upstream "${upstream}"` : 'upstream'
    super(
      'E_BUDGET',
      `${where} budget: no ${lane} permit before the deadline (${reason}); retry in ${retryAfterMs}ms`,
    )
    this.name = 'BudgetExceededError'
    this.retryAfterMs = retryAfterMs
    this.lane = lane
    this.reason = reason
  }
}
