import type { IncomingHttpHeaders } from 'node:http'
import type { RouteConfig, UpstreamConfig } from '../../config/types.js'

/**
 * The request headers cistern sends upstream: the one home of what is forwarded.
 *
 * - On a route with a `ttl` (cistern owns the policy) a cached GET forwards only content negotiation
 *   (Accept, Accept-Language) and the route's `vary` headers: the upstream's answer is kept for
 *   every client, so it must not depend on anything else a client sent.
 * - On a route without a `ttl` (the upstream decides, RFC 9111) and on pass-through, cistern is an
 *   HTTP intermediary: every end-to-end header goes on (RFC 9110 §7.6), minus the hop-by-hop ones,
 *   Host (the upstream's own), the route's `dropHeaders`, and Accept-Encoding (cistern asks for the
 *   codings it decodes and encodes per client itself); a `Via` names cistern (RFC 9110 §7.6.3). A
 *   cached GET also leaves out the client's conditionals and Range: cistern validates its own copy
 *   and answers those from it.
 *
 * Client credentials (Authorization, Cookie and the upstream's `clientCredentials`) go only to an
 * upstream without auth of its own, and on a cached GET never on a public route (its one entry is
 * served to every client, so it must be what any of them would get). Proxy-Authorization is for
 * cistern's hop and never goes on.
 */

/** The content-negotiation headers a ttl route forwards (and its upstream's `Vary` may select on). */
export const NEGOTIATED: readonly string[] = ['accept', 'accept-language']

/** Hop-by-hop fields (RFC 9110 §7.6.1) and those node or undici write themselves. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'accept-encoding',
  'http2-settings',
])

/** A cached GET validates cistern's copy, not the client's: these are answered from the copy. */
const CLIENT_CONDITIONALS = new Set([
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
])

/** What cistern adds to Via (RFC 9110 §7.6.3): the protocol it received and its pseudonym. */
const VIA = '1.1 cistern'

export type Forwarding = 'cached' | 'pass'

/** Whether a route forwards a client's end-to-end headers (no ttl, or a pass-through). */
export function forwardsEndToEnd(route: Pick<RouteConfig, 'ttl'>, forwarding: Forwarding): boolean {
  return forwarding === 'pass' || route.ttl === undefined
}

export function forwardedHeaders(
  route: Pick<RouteConfig, 'ttl' | 'vary' | 'credentials' | 'public' | 'dropHeaders'>,
  upstream: Pick<UpstreamConfig, 'headers' | 'auth'>,
  clientHeaders: IncomingHttpHeaders,
  forwarding: Forwarding,
): Record<string, string> {
  const headers: Record<string, string> = {}
  const sendsCredentials = upstream.auth === undefined && (forwarding === 'pass' || !route.public)
  if (!forwardsEndToEnd(route, forwarding)) {
    const names = [...NEGOTIATED, ...route.vary]
    // Without credentials of its own, the upstream sees the client's (and the key carries a hash of them).
    if (sendsCredentials) names.push(...route.credentials)
    for (const name of names) {
      const value = clientHeaders[name]
      if (typeof value === 'string') headers[name] = value
    }
    return { ...upstream.headers, ...headers }
  }
  const connection = clientHeaders.connection
  const listed = connection === undefined ? undefined : new Set(connection.toLowerCase().split(/\s*,\s*/))
  for (const name in clientHeaders) {
    if (NOT_FORWARDED.has(name) || listed?.has(name) || route.dropHeaders.includes(name)) continue
    if (forwarding === 'cached' && CLIENT_CONDITIONALS.has(name)) continue
    if (!sendsCredentials && route.credentials.includes(name)) continue
    const value = clientHeaders[name]
    if (value === undefined) continue
    headers[name] = Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ', ') : value
  }
  const via = clientHeaders.via
  headers.via = via === undefined ? VIA : `${via}, ${VIA}`
  // The upstream's configured headers are cistern's to set: a client cannot override them.
  return { ...headers, ...upstream.headers }
}

/**
 * Whether a request header an upstream `Vary` names can select among its answers on this route: the
 * upstream sees it on a cached GET, and the key does not hold it already (credentials are keyed as a
 * hash; Accept-Encoding is cistern's own business, see stored-response.ts).
 */
export function isSelectable(
  route: Pick<RouteConfig, 'ttl' | 'vary' | 'credentials' | 'dropHeaders'>,
  name: string,
): boolean {
  if (route.vary.includes(name)) return false
  if (route.ttl !== undefined) return NEGOTIATED.includes(name)
  return (
    !NOT_FORWARDED.has(name) &&
    !CLIENT_CONDITIONALS.has(name) &&
    !route.credentials.includes(name) &&
    !route.dropHeaders.includes(name) &&
    name !== 'via'
  )
}
