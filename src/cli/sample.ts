import type { CompiledExpression } from '../config/cel.js'
import type { RouteConfig, WebhookConfig } from '../config/types.js'

export type SampleResult =
  | { key: string; source: string; value: string }
  | { key: string; source: string; error: string }

/**
 * Evaluate a route's expressions (`refresh.while`, `changes.items` and `changes.id`, `warm.each`) or
 * a webhook's `when`s against a sample body, as the refresh path and the webhook receiver would at
 * run time (params and headers empty, now the current time): a condition that cannot be evaluated
 * on the real body is found before deploying, not after the first refresh.
 */
export function evaluateSample(target: RouteConfig | WebhookConfig, body: unknown): SampleResult[] {
  const vars = { body, params: {}, headers: {}, now: Date.now() }
  const results: SampleResult[] = []
  const run = (key: string, expression: CompiledExpression, evaluate: () => string) => {
    try {
      results.push({ key, source: expression.source, value: evaluate() })
    } catch (error) {
      results.push({ key, source: expression.source, error: (error as Error).message })
    }
  }
  if ('on' in target) {
    target.on.forEach((action, i) => {
      if (action.when) run(`on[${i}].when`, action.when, () => String(action.when!.test(vars)))
    })
    return results
  }
  const policy = target.refresh?.while
  if (policy?.kind === 'cel') {
    run('refresh.while', policy.expression, () =>
      policy.expression.test(vars) ? 'true (kept warm)' : 'false (leaves the schedule)',
    )
  }
  const { items, id } = target.changes ?? {}
  if (items) {
    let list: unknown[] | undefined
    run('changes.items', items, () => {
      list = items.list(vars)
      return `a list of ${list.length}`
    })
    if (id && list) {
      const ids: unknown[] = []
      run('changes.id', id, () => {
        for (const item of list!) ids.push(id.evaluate({ ...vars, item }))
        const shown = ids.slice(0, 5).map((value) => JSON.stringify(value))
        return `${shown.join(', ')}${ids.length > 5 ? ` … (${ids.length} ids)` : ''}`
      })
    }
  }
  const each = target.warm?.each
  if (each) run('warm.each', each, () => `a list of ${each.list(vars).length}`)
  return results
}
