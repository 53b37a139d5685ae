import { parseCacheControl } from '../../util/cache-control.js'
import { type HeaderBag, headerValue } from '../../util/headers.js'
import { parseHttpDate } from '../../util/http-date.js'

/**
 * The one home of RFC 9111 shared-cache policy on routes without a ttl of their own (the upstream
 * decides): whether an answer may be stored (§3), how long it is fresh (§4.2.1, §4.2.2), how old it
 * already is (§4.2.3), what stale serving it allows (§4.2.4, RFC 5861) and whether a stored answer
 * satisfies a request's own directives (§5.2.1). Directive names and values come from the one
 * Cache-Control parser (util/cache-control.ts), dates from the one HTTP-date parser.
 */

type Headers = HeaderBag

/** RFC 9111 §1.2.2: a delta-seconds too large to hold is taken as 2^31. */
const MAX_DELTA = 2_147_483_648

/** Heuristic freshness is capped: a resource unchanged for ten years is not fresh for one. */
const MAX_HEURISTIC_MS = 24 * 3600 * 1000

/** Statuses that are heuristically cacheable (RFC 9110 §15.1), minus 206 (cistern stores whole bodies only). */
const CACHEABLE_BY_DEFAULT = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])

/**
 * Final statuses cistern understands well enough to store when the upstream gives them explicit
 * freshness (RFC 9111 §3: "the response status code is final" and understood). 206 is not among them
 * (partial bodies are passed on), nor 304 (an answer to cistern's own conditional request).
 */
export function isUnderstoodStatus(status: number): boolean {
  return status >= 200 && status < 600 && status !== 206 && status !== 304
}

export function isCacheableByDefault(status: number): boolean {
  return CACHEABLE_BY_DEFAULT.has(status)
}

/** delta-seconds (RFC 9111 §1.2.2): digits only, clamped to 2^31; anything else is invalid. */
export function deltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined
  const seconds = Number(value)
  return Math.min(seconds, MAX_DELTA)
}

/**
 * The targeted fields (RFC 9213) cistern obeys, most specific first. When one is present and valid,
 * the cache uses it instead of Cache-Control (and Expires): an upstream can give cistern a policy
 * other than the one it gives browsers.
 */
const TARGETED = ['cistern-cache-control', 'cdn-cache-control']

/** The directives that hold for cistern: a valid targeted field's, else Cache-Control's. */
export function responseDirectives(headers: Headers): { directives: Map<string, string>; targeted: boolean } {
  for (const name of TARGETED) {
    const value = headerValue(headers, name)
    if (value === undefined) continue
    const directives = parseTargeted(value)
    if (directives !== undefined) return { directives, targeted: true }
  }
  return { directives: parseCacheControl(headerValue(headers, 'cache-control')), targeted: false }
}

/** An SF key, then optionally `=` and an integer, a token, a string or a boolean, then parameters. */
const MEMBER =
  /^([a-z*][a-z0-9_\-.*]*)(?:=(-?\d{1,15}(?:\.\d{1,3})?|[A-Za-z*][\w:/!#$%&'*+\-.^`|~]*|"(?:[^"\\]|\\["\\])*"|\?[01]))?((?:;\s*[a-z*][a-z0-9_\-.*]*(?:=[^;,]*)?)*)$/

/**
 * A targeted field is a Structured Field dictionary (RFC 9213 §2.1, RFC 8941). One that does not
 * parse, or whose delta directive is not an integer, is ignored as a whole: the cache falls back to
 * Cache-Control rather than half-read a policy.
 */
function parseTargeted(value: string): Map<string, string> | undefined {
  const directives = new Map<string, string>()
  for (const raw of value.split(',')) {
    const member = raw.trim()
    if (member === '') return undefined
    const match = MEMBER.exec(member)
    if (match === null) return undefined
    const [, name, argument = ''] = match
    if (DELTA_DIRECTIVES.has(name!) && argument !== '' && !/^\d+$/.test(argument)) return undefined
    if (!directives.has(name!))
      directives.set(name!, argument.startsWith('"') ? argument.slice(1, -1) : argument)
  }
  return directives
}

const DELTA_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'])

/** Why an answer may not be stored (RFC 9111 §3), in Cache-Status `detail=` words. */
export type Refusal = 'no-store' | 'private' | 'status' | 'authorization'

export interface HttpFreshness {
  /** Fresh for, ms from the time it was received (its initial age already taken off). */
  ttl: number
  /** stale-while-revalidate, ms after freshness ends. */
  stale: number
  /** stale-if-error, ms after freshness ends. */
  staleIfError: number
  /** The answer's age when cistern received it, seconds (RFC 9111 §4.2.3 corrected_initial_age). */
  initialAge: number
}

/**
 * RFC 9111 §3 and §4.2 for one answer: a Refusal, or the windows to store it with. `requestHeaders`
 * are the headers cistern sent; `now` is when the answer arrived.
 */
export function httpFreshness(
  requestHeaders: Headers,
  status: number,
  responseHeaders: Headers,
  fallbackStaleIfError: number,
  now: number,
): HttpFreshness | Refusal {
  const { directives, targeted } = responseDirectives(responseHeaders)
  if (parseCacheControl(headerValue(requestHeaders, 'cache-control')).has('no-store')) return 'no-store'
  if (directives.has('no-store')) {
    // must-understand overrides no-store for a status the cache understands (RFC 9111 §5.2.2.3).
    if (!(directives.has('must-understand') && isUnderstoodStatus(status))) return 'no-store'
  }
  if (directives.has('private')) return 'private'
  if (!isUnderstoodStatus(status)) return 'status'
  // §3.5: a shared cache keeps an answer to an authorized request only when the upstream says so.
  if (
    headerValue(requestHeaders, 'authorization') !== undefined &&
    !directives.has('public') &&
    !directives.has('s-maxage') &&
    !directives.has('must-revalidate')
  )
    return 'authorization'

  const date = parseHttpDate(headerValue(responseHeaders, 'date') ?? '', now)
  const dateValue = date ?? now
  const initialAge = Math.max(
    Math.max(0, Math.floor((now - dateValue) / 1000)),
    ageValue(responseHeaders) ?? 0,
  )

  // §4.2.1: s-maxage, then max-age, then Expires - Date; an invalid value means already stale.
  let lifetime: number | undefined
  let explicit = false
  for (const name of ['s-maxage', 'max-age']) {
    if (!directives.has(name)) continue
    explicit = true
    lifetime = deltaSeconds(directives.get(name)) ?? 0
    break
  }
  if (!explicit && !targeted) {
    const expires = headerValue(responseHeaders, 'expires')
    if (expires !== undefined) {
      explicit = true
      const at = parseHttpDate(expires, now)
      lifetime = at === undefined ? 0 : Math.max(0, Math.floor((at - dateValue) / 1000))
    }
  }
  if (!explicit && !directives.has('public') && !isCacheableByDefault(status)) return 'status'
  if (lifetime === undefined) {
    // §4.2.2: heuristic freshness, only for statuses cacheable by default, from Last-Modified.
    lifetime = 0
    const lastModified = parseHttpDate(headerValue(responseHeaders, 'last-modified') ?? '', now)
    if (isCacheableByDefault(status) && lastModified !== undefined && lastModified < dateValue) {
      lifetime = Math.floor(Math.min((dateValue - lastModified) / 10, MAX_HEURISTIC_MS) / 1000)
    }
  }
  const noCache = directives.has('no-cache') || pragmaNoCache(responseHeaders, directives)
  const ttl = noCache ? 0 : Math.max(0, lifetime - initialAge) * 1000
  // must-revalidate and proxy-revalidate forbid serving stale; s-maxage implies proxy-revalidate.
  const strict =
    noCache ||
    directives.has('must-revalidate') ||
    directives.has('proxy-revalidate') ||
    directives.has('s-maxage')
  if (strict) return { ttl, stale: 0, staleIfError: 0, initialAge }
  const window = (name: string) => {
    const seconds = deltaSeconds(directives.get(name))
    return seconds === undefined ? undefined : seconds * 1000
  }
  return {
    ttl,
    stale: window('stale-while-revalidate') ?? 0,
    staleIfError: window('stale-if-error') ?? fallbackStaleIfError,
    initialAge,
  }
}

/**
 * `Pragma: no-cache` on a response with no Cache-Control is an HTTP/1.0 upstream's no-cache
 * (RFC 9111 §5.4 leaves it to requests; caches commonly honour it on responses too).
 */
function pragmaNoCache(headers: Headers, directives: Map<string, string>): boolean {
  return directives.size === 0 && /(^|,)\s*no-cache\s*(,|$)/i.test(headerValue(headers, 'pragma') ?? '')
}

/**
 * The Age an upstream sent (RFC 9111 §5.1): the first member of the first line, when it is a
 * non-negative integer; anything else is ignored. Clamped like any delta-seconds.
 */
export function ageValue(headers: Headers): number | undefined {
  const value = headerValue(headers, 'age')
  if (value === undefined) return undefined
  return deltaSeconds(value.split(',')[0]!.trim())
}

/** What a request asks of a stored answer (RFC 9111 §5.2.1, §5.4). */
export interface RequestDirectives {
  /** no-cache, or Pragma: no-cache without Cache-Control: revalidate whatever is stored. */
  noCache: boolean
  noStore: boolean
  onlyIfCached: boolean
  maxAge: number | undefined
  /** Seconds of staleness accepted; Infinity for a bare max-stale. */
  maxStale: number | undefined
  minFresh: number | undefined
}

/** The request's directives, or undefined when it sent none (the common case: no parsing at all). */
export function requestDirectives(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): RequestDirectives | undefined {
  const cc = headers['cache-control']
  const pragma = headers.pragma
  if (cc === undefined && pragma === undefined) return undefined
  const directives = parseCacheControl(cc)
  const pragmaText = typeof pragma === 'string' ? pragma : pragma?.join(',')
  const maxStale = directives.get('max-stale')
  const result: RequestDirectives = {
    noCache:
      directives.has('no-cache') || (cc === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragmaText ?? '')),
    noStore: directives.has('no-store'),
    onlyIfCached: directives.has('only-if-cached'),
    maxAge: directives.has('max-age') ? (deltaSeconds(directives.get('max-age')) ?? 0) : undefined,
    maxStale: maxStale === undefined ? undefined : maxStale === '' ? Infinity : deltaSeconds(maxStale),
    minFresh: directives.has('min-fresh') ? (deltaSeconds(directives.get('min-fresh')) ?? 0) : undefined,
  }
  const asks =
    result.noCache ||
    result.noStore ||
    result.onlyIfCached ||
    result.maxAge !== undefined ||
    result.maxStale !== undefined ||
    result.minFresh !== undefined
  return asks ? result : undefined
}

/**
 * Whether a stored answer of this age and lifetime (seconds) satisfies the request's directives
 * without asking the upstream. `revalidateWhenStale`: the answer forbids serving it stale
 * (must-revalidate, proxy-revalidate, s-maxage, no-cache), which max-stale cannot override.
 */
export function satisfies(
  request: RequestDirectives,
  stored: { age: number; lifetime: number; revalidateWhenStale: boolean },
): boolean {
  if (request.noCache) return false
  const { age, lifetime } = stored
  if (request.maxAge !== undefined && age > request.maxAge) return false
  if (request.minFresh !== undefined && lifetime - age < request.minFresh) return false
  if (age < lifetime) return true
  if (stored.revalidateWhenStale || request.maxStale === undefined) return false
  return age - lifetime <= request.maxStale
}

/** The client asks to revalidate: `Cache-Control: no-cache` or `max-age=0`, or `Pragma: no-cache`. */
export function clientWantsRevalidation(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): boolean {
  const request = requestDirectives(headers)
  return request !== undefined && (request.noCache || request.maxAge === 0)
}
