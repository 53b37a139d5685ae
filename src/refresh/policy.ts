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
 * An adaptive key not kept yet becomes hot on a second read within this many of its periods (and
 * within `hotWindow`): one stray read does not make a key hot.
 */
export const HOT_PERIODS = 2

/**
 * An adaptive `while: hot` key stays kept while it is read at least this often per refresh (a moving
 * average). Polling a key read less often than about once per period costs more calls than
 * revalidating it when a client reads it (one call per period in which it is read): the first read
 * of a period pays for the poll that would have come before it, and periods nobody reads cost nothing.
 */
export const HOT_READS_PER_REFRESH = 1.5

/** Weight of the latest period in the moving average of reads per refresh. */
const HEAT_WEIGHT = 0.5

/** Reads counted per period at most: a burst (or a restart's read total) fades within a few periods. */
const HEAT_CAP = 8

/** The moving average of reads per refresh after a period with `readsSince` reads. */
export function nextHeat(heat: number, readsSince: number): number {
  return heat * (1 - HEAT_WEIGHT) + Math.min(readsSince, HEAT_CAP) * HEAT_WEIGHT
}

/** The `while` policy a kept key is checked against: an adaptive key's hot window follows its period. */
export function keptWhile(policy: WhilePolicy, adaptivePeriodMs: number | undefined): WhilePolicy {
  if (policy.kind !== 'hot' || adaptivePeriodMs === undefined) return policy
  return { kind: 'hot', window: Math.min(policy.window, HOT_PERIODS * adaptivePeriodMs) }
}
