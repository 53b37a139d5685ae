import type { WhilePolicy } from '../config/types.js'

export interface PolicyContext {
  /** Last client read of the key (ms). */
  lastReadAt: number
  now: number
  /** The last version seen, parsed, for CEL: only computed when a CEL policy asks. */
  data: () => { body: unknown; params: Record<string, string>; headers: Record<string, string> }
}

export type PolicyVerdict = { keep: true } | { keep: false; reason: 'cold' | 'condition' | 'error' }

/**
 * Whether a key stays in the schedule. `hot`: read within the window. `always`: yes. CEL: the
 * condition over the stored body, params, response headers and now; an evaluation error drops the
 * key (a condition that cannot be checked must not spend the budget forever) — the next read enrolls
 * it again.
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
      } catch {
        return { keep: false, reason: 'error' }
      }
    }
  }
}
