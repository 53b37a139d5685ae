import type { IncomingHttpHeaders } from 'node:http'
import type { RouteConfig } from '../../config/types.js'
import { normalizeSelecting } from '../routing/cache-key.js'
import type { Route } from '../routing/router.js'

/**
 * The upstream's own `Vary` (RFC 9111 §4.1). A shared cache may serve a stored answer only to a
 * request that agrees with the one that fetched it on every header the answer's `Vary` names.
 *
 * Only headers cistern forwards can select an answer: on a cached GET that is Accept and
 * Accept-Language (NEGOTIATED), the route's own `vary` headers (already in the key) and the client's
 * credentials (in the key as a hash unless the route is public, and never forwarded when it is).
 * Anything else the upstream names never reaches it from cistern, so every answer cistern gets is
 * the one for "header absent". Accept-Encoding is cistern's own business: it asks the upstream for
 * whatever it can decode, stores the identity body and compresses per client (stored-response.ts),
 * so an upstream `Vary: Accept-Encoding` makes no variants.
 *
 * The negotiated headers an upstream names are learned per route (Route.responseVary) and join
 * every key of the route as `#@vary:` parts, so a hit stays one lookup. An answer whose `Vary`
 * names a header its key does not hold yet is served but not stored (the route learns the header;
 * the next request keys on it), and `Vary: *` is never stored.
 */
export const NEGOTIATED: readonly string[] = ['accept', 'accept-language']

/** `*`, or the negotiated headers an upstream `Vary` names beyond the route's own vary (sorted). */
export function selectingHeaders(
  vary: string | string[] | undefined,
  route: Pick<RouteConfig, 'vary'>,
): readonly string[] | '*' {
  if (vary === undefined) return NONE
  const text = (Array.isArray(vary) ? vary.join(',') : vary).toLowerCase()
  let names: string[] | undefined
  for (const part of text.split(',')) {
    const name = part.trim()
    if (name === '*') return '*'
    if (NEGOTIATED.includes(name) && !route.vary.includes(name) && !names?.includes(name)) {
      names ??= []
      names.push(name)
    }
  }
  return names ? names.sort() : NONE
}

const NONE: readonly string[] = []

/** The route now also keys on these headers (a no-op when it does already). */
export function learnResponseVary(route: Route, names: readonly string[]): void {
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
