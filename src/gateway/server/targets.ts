import type { Template } from '../../config/template.js'
import type { RouteConfig } from '../../config/types.js'
import type { ParamFilter } from '../routing/request-target.js'
import { encodePathValue } from '../routing/router.js'

/**
 * The upstream path and query for a request: the route's `to` template filled with encoded params,
 * and the client's query (minus ignored params) added to the template's own query, which wins.
 */
export function upstreamTarget(
  route: RouteConfig,
  params: Record<string, string>,
  clientQuery: string,
  ignored: ParamFilter,
): { path: string; query: URLSearchParams } {
  const rendered = route.to.render(params, encodePathValue)
  if (rendered === undefined) throw new Error(`route ${route.name}: "to" references a missing param`)
  const q = rendered.indexOf('?')
  const path = q === -1 ? rendered : rendered.slice(0, q)
  const query = new URLSearchParams(q === -1 ? '' : rendered.slice(q + 1))
  if (clientQuery !== '') {
    const fixed = new Set(query.keys())
    for (const [name, value] of new URLSearchParams(clientQuery)) {
      if (!ignored.has(name) && !fixed.has(name)) query.append(name, value)
    }
  }
  return { path, query }
}

/** Render tag templates against the params; a tag whose value is missing is skipped. */
export function renderTags(
  templates: readonly Template[],
  vars: Readonly<Record<string, unknown>>,
): string[] {
  const tags: string[] = []
  for (const template of templates) {
    const tag = template.render(vars)
    if (tag !== undefined) tags.push(tag)
  }
  return tags
}
