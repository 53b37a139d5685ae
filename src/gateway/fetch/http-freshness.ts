import CachePolicy from 'http-cache-semantics'
import { cacheControlOf } from '../../util/cache-control.js'
import { singleValued } from '../../util/headers.js'

/**
 * RFC 9111 shared-cache rules for a route without its own ttl. http-cache-semantics decides whether
 * the response may be stored and for how long it is fresh (s-maxage, max-age, Expires, Age, Date,
 * heuristics, no-cache, private, Vary: *); this adds the stale-while-revalidate and stale-if-error
 * windows, which must-revalidate and proxy-revalidate switch off.
 */
export interface HttpFreshness {
  storable: boolean
  ttl: number
  stale: number
  staleIfError: number
}

type Headers = Record<string, string | string[] | undefined>

export function httpFreshness(
  requestHeaders: Headers,
  status: number,
  responseHeaders: Headers,
  fallbackStaleIfError: number,
): HttpFreshness {
  // http-cache-semantics reads each field as one string (a repeated Cache-Control would throw).
  const policy = new CachePolicy(
    { method: 'GET', url: '/', headers: singleValued(requestHeaders) },
    { status, headers: singleValued(responseHeaders) },
    { shared: true },
  )
  if (!policy.storable()) return { storable: false, ttl: 0, stale: 0, staleIfError: 0 }
  const directives = cacheControlOf(responseHeaders)
  const ttl = Math.max(0, (policy.maxAge() - policy.age()) * 1000)
  if (directives.has('must-revalidate') || directives.has('proxy-revalidate') || directives.has('no-cache')) {
    return { storable: true, ttl: directives.has('no-cache') ? 0 : ttl, stale: 0, staleIfError: 0 }
  }
  const seconds = (name: string) => {
    const value = Number(directives.get(name))
    return Number.isFinite(value) && value > 0 ? value * 1000 : undefined
  }
  return {
    storable: true,
    ttl,
    stale: seconds('stale-while-revalidate') ?? 0,
    staleIfError: seconds('stale-if-error') ?? fallbackStaleIfError,
  }
}

/** The client asks to revalidate: `Cache-Control: no-cache` or `max-age=0`, or `Pragma: no-cache`. */
export function clientWantsRevalidation(headers: Headers): boolean {
  const cc = headers['cache-control']
  if (cc !== undefined) {
    const directives = cacheControlOf(headers)
    if (directives.has('no-cache') || directives.get('max-age') === '0') return true
  }
  const pragma = headers.pragma
  return cc === undefined && typeof pragma === 'string' && pragma.toLowerCase().includes('no-cache')
}
