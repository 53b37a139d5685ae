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
 * An adaptive `while: hot` key stays kept while its clients read it at least this many times per
 * refresh interval (its read rate, a moving average, times its current interval). Polling a key at
 * interval T costs one call per T whether it is read or not; serving it from the cache and
 * revalidating on read, as fresh (copies at most T old), costs one call per T plus the wait for the
 * next read after it (1/r on average, for r reads per ms): polling costs 1 + 1/(r·T) times as much.
 * So a key read 20 times per interval is polled for at most 5% more than that; a key read less often
 * is left to the cache and revalidated by the read that finds its route's `ttl` up.
 */
export const HOT_READS_PER_REFRESH = 20

/** Weight of the latest period in the moving average of the read rate. */
const HEAT_WEIGHT = 0.5

/** The moving average of a key's read rate (reads per ms) after `reads` reads in `elapsedMs`. */
export function nextReadRate(rate: number | undefined, reads: number, elapsedMs: number): number {
  const sample = reads / Math.max(1, elapsedMs)
  return rate === undefined ? sample : rate * (1 - HEAT_WEIGHT) + sample * HEAT_WEIGHT
}

/** The `while` policy a kept key is checked against: an adaptive key's hot window follows its period. */
export function keptWhile(policy: WhilePolicy, adaptivePeriodMs: number | undefined): WhilePolicy {
  if (policy.kind !== 'hot' || adaptivePeriodMs === undefined) return policy
  return { kind: 'hot', window: Math.min(policy.window, HOT_PERIODS * adaptivePeriodMs) }
}
