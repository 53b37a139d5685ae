import type { Template } from '../config/template.js'
import type { WebhookAction } from '../config/types.js'
import { selectorsFor } from '../gateway/routing/cache-key.js'
import type { Selector } from '../stores/store.js'
import type { ActionResult, RefreshRequester, WebhookOutcome } from './types.js'

/** The cache operations actions need (the engine's Cache fits). */
export interface Invalidator {
  invalidate(selector: Selector, options?: { soft?: boolean }): Promise<number>
}

export interface ActionInput {
  body: unknown
  headers: Readonly<Record<string, string>>
  params: Readonly<Record<string, string>>
  /** Epoch ms, for CEL's `now`. */
  now: number
}

export interface ActionDeps {
  cache: Invalidator
  refresher: RefreshRequester
}

/**
 * Refresh by soft invalidation: the selection is marked stale, so the next read serves it once and
 * refreshes it in the background. What `refresh` actions do until the refresh scheduler provides
 * a RefreshRequester. A gateway path also covers its query and header variants, as a write does.
 */
export function softInvalidationRefresher(cache: Invalidator): RefreshRequester {
  return {
    async refresh(selector) {
      let count = 0
      for (const one of selectorsFor(selector)) count += await cache.invalidate(one, { soft: true })
      return count
    },
  }
}

function render(templates: readonly Template[], vars: Readonly<Record<string, unknown>>): string[] {
  return templates.map((template) => {
    const value = template.render(vars)
    if (value === undefined) {
      const refs = template.refs.map((ref) => ref.text).join(', ')
      throw new Error(`"${template.source}" has no value for ${refs} in this delivery`)
    }
    return value
  })
}

/**
 * Run a webhook's actions for one verified delivery. Each action's failure (a `when` that does not
 * evaluate, a template whose value is missing, a cache or refresher error) is caught and recorded
 * on its result; the others still run.
 */
export async function runActions(
  actions: readonly WebhookAction[],
  input: ActionInput,
  deps: ActionDeps,
): Promise<ActionResult[]> {
  // Path parameters by bare name ({event}) as well as under params.*, like route tags.
  const vars = { ...input.params, params: input.params, body: input.body, headers: input.headers }
  const results: ActionResult[] = []
  for (const [index, action] of actions.entries()) {
    const result: ActionResult = { index, matched: false }
    results.push(result)
    try {
      result.matched = action.when ? action.when.test(input) : true
      if (!result.matched) continue
      const invalidate = render(action.invalidate, vars)
      const refresh = render(action.refresh, vars)
      let count = 0
      if (invalidate.length > 0) {
        count += await deps.cache.invalidate({ tags: invalidate }, { soft: action.soft })
        result.invalidated = invalidate
      }
      for (const target of refresh) {
        // A leading "/" names a gateway path, whose cache key is the path itself; else a tag.
        const selector = target.startsWith('/') ? { key: target } : { tag: target }
        count += await deps.refresher.refresh(selector, 'background')
        result.refreshed = [...(result.refreshed ?? []), target]
      }
      result.count = count
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error)
    }
  }
  return results
}

/** The event's outcome from its action results. */
export function outcomeOf(
  results: readonly ActionResult[],
): Extract<WebhookOutcome, 'acted' | 'ignored' | 'failed'> {
  if (results.some((r) => r.error !== undefined)) return 'failed'
  return results.some((r) => r.matched) ? 'acted' : 'ignored'
}
