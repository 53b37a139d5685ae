import type { IncomingHttpHeaders } from 'node:http'
import type { RouteConfig } from '../../config/types.js'
import { normalizeSelecting, withoutResponseVary } from '../routing/cache-key.js'
import type { Route } from '../routing/router.js'
import { isSelectable } from './forwarded-headers.js'

/**
 * The upstream's own `Vary` (RFC 9111 §4.1). A shared cache may serve a stored answer only to a
 * request that agrees with the one that fetched it on every header the answer's `Vary` names.
 *
 * Only headers cistern forwards can select an answer (forwarded-headers.ts, isSelectable): on a ttl
 * route that is Accept and Accept-Language; on a route without a ttl every end-to-end header it
 * forwards. The route's own `vary` headers are in the key already, and so are the client's
 * credentials (as a hash unless the route is public, when they are never forwarded). Anything else
 * the upstream names never reaches it from cistern, so every answer cistern gets is the one for
 * "header absent". Accept-Encoding is cistern's own business: it asks the upstream for whatever it
 * can decode, stores the identity body and compresses per client (stored-response.ts), so an
 * upstream `Vary: Accept-Encoding` makes no variants.
 *
 * The headers an upstream names are learned per route (Route.responseVary, at most
 * MAX_LEARNED_VARY of them) and join every key of the route as `#@vary:` parts, so a hit stays one
 * lookup. An answer whose `Vary` names a header its key does not hold yet is served but not stored
 * (the route learns the header; the next request keys on it), and `Vary: *` is never stored.
 */

/** Headers a route learns from upstream `Vary` at most: each one lengthens every key of the route. */
export const MAX_LEARNED_VARY = 16

/** `*`, or the selectable headers an upstream `Vary` names beyond the route's own vary (sorted). */
export function selectingHeaders(
  vary: string | string[] | undefined,
  route: Pick<RouteConfig, 'ttl' | 'vary' | 'credentials' | 'dropHeaders'>,
): readonly string[] | '*' {
  if (vary === undefined) return NONE
  const text = (Array.isArray(vary) ? vary.join(',') : vary).toLowerCase()
  let names: string[] | undefined
  for (const part of text.split(',')) {
    const name = part.trim()
    if (name === '*') return '*'
    if (name !== '' && isSelectable(route, name) && !names?.includes(name)) {
      names ??= []
      names.push(name)
    }
  }
  return names ? names.sort() : NONE
}

const NONE: readonly string[] = []

/**
 * The route now also keys on these headers (a no-op when it does already): on a route with a ttl for
 * all its keys, on one without for the request target of `key` only (see TargetVary).
 */
export function learnResponseVary(route: Route, names: readonly string[], key: string): void {
  if (route.config.ttl === undefined) {
    route.targetVary.learn(withoutResponseVary(key), names)
    return
  }
  if (names.every((name) => route.responseVary.includes(name))) return
  route.responseVary = [...new Set([...route.responseVary, ...names])].sort()
}

/** What a request sent for each of `names`, normalized as in keys (undefined: not sent). */
export type Selection = ReadonlyMap<string, string | undefined>

export function selectionOf(headers: IncomingHttpHeaders, names: readonly string[]): Selection {
  const selection = new Map<string, string | undefined>()
  for (const name of names) {
    const value = headers[name]
    selection.set(name, value === undefined ? undefined : normalizeSelecting(String(value)))
  }
  return selection
}

export function selectionMatches(selection: Selection, headers: IncomingHttpHeaders): boolean {
  for (const [name, value] of selection) {
    const mine = headers[name]
    if ((mine === undefined ? undefined : normalizeSelecting(String(mine))) !== value) return false
  }
  return true
}
