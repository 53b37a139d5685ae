import type { WhilePolicy } from '../config/types.js'

export interface PolicyContext {
  /** Last client read of the key (ms). */
  lastReadAt: number
  now: number
  /** The last version seen, parsed, for CEL: only computed when a CEL policy asks. */
  data: () => { body: unknown; params: Record<string, string>; headers: Record<string, string> }
}

export type PolicyVerdict =
  | { keep: true }
  | { keep: false; reason: 'cold' | 'condition' }
  /** The condition could not be evaluated (a missing field, a date CEL cannot parse): no decision. */
  | { keep: undefined; error: string }

/**
 * Whether a key stays in the schedule. `hot`: read within the window. `always`: yes. CEL: the
 * condition over the stored body, params, response headers and now. A condition that cannot be
 * evaluated gives no decision: the scheduler keeps the key on its last one and reports the error,
 * since dropping it silently would stop the refreshes a user configured without a word.
 */
export function checkWhile(policy: WhilePolicy, ctx: PolicyContext): PolicyVerdict {
  switch (policy.kind) {
    case 'always':
      return { keep: true }
    case 'hot':
      return ctx.now - ctx.lastReadAt <= policy.window ? { keep: true } : { keep: false, reason: 'cold' }
    case 'cel': {
      try {
        const data = ctx.data()
        return policy.expression.test({ ...data, now: ctx.now })
          ? { keep: true }
          : { keep: false, reason: 'condition' }
      } catch (error) {
        return { keep: undefined, error: error instanceof Error ? error.message : String(error) }
      }
    }
  }
}

/**
 * An adaptive key stays hot while it is read at least once in this many of its own periods (and
 * within `hotWindow`): a key read less often costs fewer calls revalidated on read than polled.
 */
export const HOT_PERIODS = 2

/** The `while` policy a kept key is checked against: an adaptive key's hot window follows its period. */
export function keptWhile(policy: WhilePolicy, adaptivePeriodMs: number | undefined): WhilePolicy {
  if (policy.kind !== 'hot' || adaptivePeriodMs === undefined) return policy
  return { kind: 'hot', window: Math.min(policy.window, HOT_PERIODS * adaptivePeriodMs) }
}
