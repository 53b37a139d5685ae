import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { SingleSelector } from '../../stores/store.js'
import { MASK } from '../../util/redact.js'
import { normalizeQuery } from './request-target.js'
import type { Route } from './router.js'

/**
 * Cache keys. A key reads like its request, so an operator can purge by prefix (`/ftc/2024/`) and
 * the refresh path can rebuild the request from it:
 *
 *     /path?sorted-query#x-a=1#@vary:accept-language=de#@auth=<hash>
 *
 * - `path?query`: the path as sent and the normalized query (URLSearchParams-encoded, so it never
 *   holds a `#`).
 * - `#name=value` for each of the route's `vary` headers the client sent.
 * - `#@vary:name=value` (or `#@vary:name` when the client sent none) for each request header the
 *   upstream's own `Vary` names (see response-vary.ts).
 * - `#@auth=<hash>` for the client's credentials, unless the route is public.
 *
 * The encoding is injective: names and values have `%` and `#` percent-escaped, so `#` only ever
 * starts a part, and header names (HTTP tokens) can never start with `@`, so a client-sent header
 * cannot pose as cistern's own `@vary:` or `@auth=` parts. Two requests share a key only when they
 * agree on the path, the query, every keyed header and the credentials.
 */

/** Where the credentials part starts; nothing else in a key can contain it. */
const AUTH_PART = '#@auth='
const RESPONSE_VARY_PART = '#@vary:'
/** base64url characters of the credentials hash (132 bits). */
const AUTH_HASH_LENGTH = 22

export function cacheKey(
  path: string,
  normalizedQuery: string,
  headers: IncomingHttpHeaders,
  vary: readonly string[],
  isPublic: boolean,
  responseVary: readonly string[] = NONE,
  extraCredentials: readonly string[] = NONE,
): string {
  let key = normalizedQuery === '' ? path : `${path}?${normalizedQuery}`
  for (let i = 0; i < vary.length; i++) {
    const name = vary[i]!
    const value = headers[name]
    if (value !== undefined) key += `#${escapePart(name)}=${escapePart(headerText(value))}`
  }
  for (let i = 0; i < responseVary.length; i++) {
    const name = responseVary[i]!
    const value = headers[name]
    key += `${RESPONSE_VARY_PART}${escapePart(name)}`
    if (value !== undefined) key += `=${escapePart(normalizeSelecting(headerText(value)))}`
  }
  if (!isPublic) {
    const credentials = credentialsOf(headers, extraCredentials)
    if (credentials !== undefined) key += AUTH_PART + credentialsHash(credentials)
  }
  return key
}

const NONE: readonly string[] = []

/**
 * The key a GET of `path?query` with these headers reads on `route`. On a route without a ttl the
 * upstream-Vary parts are those learned for this target (TargetVary), found by the key without them.
 */
export function requestKey(route: Route, path: string, query: string, headers: IncomingHttpHeaders): string {
  const config = route.config
  const normalized = normalizeQuery(query, route.ignoredQuery)
  if (config.ttl !== undefined)
    return cacheKey(
      path,
      normalized,
      headers,
      config.vary,
      config.public,
      route.responseVary,
      route.extraCredentials,
    )
  const target = cacheKey(path, normalized, headers, config.vary, config.public, NONE, route.extraCredentials)
  const names = route.targetVary.get(target)
  return names === undefined
    ? target
    : cacheKey(path, normalized, headers, config.vary, config.public, names, route.extraCredentials)
}

/** A key without its upstream-Vary (`#@vary:`) parts: the request target TargetVary learns for. */
export function withoutResponseVary(key: string): string {
  if (!key.includes(RESPONSE_VARY_PART)) return key
  return key
    .split('#')
    .filter((part, i) => i === 0 || !part.startsWith('@vary:'))
    .join('#')
}

function headerText(value: string | string[]): string {
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * A selecting header value as RFC 9111 §4.1 allows it to be normalized: whitespace around list
 * commas and at the ends does not make another variant.
 */
export function normalizeSelecting(value: string): string {
  return value.includes(',') ? value.trim().replace(/\s*,\s*/g, ',') : value.trim()
}

function escapePart(text: string): string {
  // Almost every name and value needs nothing: two scans (cheaper than a regex on short strings), no allocation.
  if (!text.includes('#') && !text.includes('%')) return text
  return text.replace(/%/g, '%25').replace(/#/g, '%23')
}

function unescapePart(text: string): string {
  return text.includes('%') ? text.replace(/%23/g, '#').replace(/%25/g, '%') : text
}

/**
 * The client's credentials (Authorization, Cookie and the upstream's `clientCredentials` headers,
 * `extra`), when it sent any; each value length-prefixed, so no set of values can spell another.
 */
export function credentialsOf(
  headers: IncomingHttpHeaders,
  extra: readonly string[] = NONE,
): string | undefined {
  // Most requests carry none: find that out with two property reads and no allocation.
  const { authorization, cookie } = headers
  let any = authorization !== undefined || cookie !== undefined
  for (let i = 0; !any && i < extra.length; i++) any = headers[extra[i]!] !== undefined
  if (!any) return undefined
  let credentials = `${lengthPrefixed(authorization)}\n${lengthPrefixed(cookie)}`
  for (let i = 0; i < extra.length; i++) credentials += `\n${lengthPrefixed(headers[extra[i]!])}`
  return credentials
}

function lengthPrefixed(value: string | string[] | undefined): string {
  if (value === undefined) return '-'
  const text = headerText(value)
  return `${text.length}:${text}`
}

function credentialsHash(credentials: string): string {
  return createHash('sha256').update(credentials).digest('base64url').slice(0, AUTH_HASH_LENGTH)
}

/** A key as the request it stands for. */
export interface ParsedKey {
  path: string
  /** The normalized query without `?` ('' when none). */
  query: string
  /** The route `vary` headers and the upstream-Vary headers the key holds, by (lower-case) name. */
  headers: Record<string, string>
  /** Names of the upstream-Vary parts (`#@vary:`), in key order. */
  responseVary: string[]
  /** The key is bound to a client's credentials (only their hash is in it). */
  private: boolean
}

/** The one key parser: everything that reads a key's parts goes through here. */
export function parseKey(key: string): ParsedKey {
  const hash = key.indexOf('#')
  const base = hash === -1 ? key : key.slice(0, hash)
  const q = base.indexOf('?')
  const parsed: ParsedKey = {
    path: q === -1 ? base : base.slice(0, q),
    query: q === -1 ? '' : base.slice(q + 1),
    headers: {},
    responseVary: [],
    private: false,
  }
  if (hash === -1) return parsed
  for (const part of key.slice(hash + 1).split('#')) {
    if (part.startsWith('@auth=')) {
      parsed.private = true
      continue
    }
    const fromResponse = part.startsWith('@vary:')
    const body = fromResponse ? part.slice(6) : part
    const eq = body.indexOf('=')
    const name = unescapePart(eq === -1 ? body : body.slice(0, eq))
    // Keys written before the credentials part had its `@` said `#auth=`: still private.
    if (!fromResponse && name === 'auth') parsed.private = true
    if (fromResponse) parsed.responseVary.push(name)
    if (eq !== -1) parsed.headers[name] = unescapePart(body.slice(eq + 1))
  }
  return parsed
}

/** The path part of a key: before the query and the variant parts. */
export function pathOfKey(key: string): string {
  let end = key.length
  const query = key.indexOf('?')
  const variant = key.indexOf('#')
  if (query !== -1) end = query
  if (variant !== -1 && variant < end) end = variant
  return key.slice(0, end)
}

/** The request target a key stands for (`path?query`), without its variant parts. */
export function targetOfKey(key: string): string {
  const hash = key.indexOf('#')
  return hash === -1 ? key : key.slice(0, hash)
}

/** The key is bound to one client's credentials, so nobody else (no background refresh) may fetch it. */
export function isPrivateKey(key: string): boolean {
  return key.includes(AUTH_PART) || key.includes('#auth=')
}

/**
 * The key as it may be shown to clients and written to logs: the credentials hash is replaced, so
 * the key of one client's entry can never be learned (and then spelled) by another. The credentials
 * part is always last and of fixed length, so this looks at one place, not the whole key: it runs on
 * every hit (Cache-Status).
 */
export function redactKey(key: string): string {
  const at = key.length - AUTH_PART.length - AUTH_HASH_LENGTH
  if (at < 0 || key.charCodeAt(at) !== 35 /* # */ || !key.startsWith(AUTH_PART, at)) return key
  return `${key.slice(0, at + AUTH_PART.length)}${MASK}`
}

/** Everything a write to `path` makes stale (RFC 9111 §4.4): the path, with any query or variant. */
export function selectorsOfPath(path: string): SingleSelector[] {
  return [{ key: path }, { prefix: `${path}?` }, { prefix: `${path}#` }]
}

/**
 * What a refresh of `selector` covers: a gateway path (a key starting with "/") with its query and
 * header variants, as a write does; a tag or prefix as it is.
 */
export function selectorsFor(selector: SingleSelector): SingleSelector[] {
  return 'key' in selector && selector.key.startsWith('/') ? selectorsOfPath(selector.key) : [selector]
}
