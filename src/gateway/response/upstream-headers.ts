import { headerValue } from '../../util/headers.js'
import type { HeaderPairs } from './stored-response.js'

/**
 * Upstream response headers that are about the connection or this particular transfer (RFC 9111
 * §3.1, RFC 9110 §7.6.1), that cistern writes itself (Age, Content-Length), or that must never be
 * replayed to other clients (Set-Cookie). Everything else is kept with the entry. Content-Encoding
 * reaches here only for a body cistern did not decode, and is kept with it.
 */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'set-cookie',
  'age',
  'alt-svc',
  'server',
  'x-powered-by',
])

export function keepHeaders(headers: Record<string, string | string[] | undefined>): HeaderPairs {
  // The fields Connection names are this hop's too (RFC 9110 §7.6.1).
  const connection = headerValue(headers, 'connection')
  const listed =
    connection === undefined
      ? undefined
      : new Set(connection.split(',').map((name) => name.trim().toLowerCase()))
  const pairs: HeaderPairs = []
  for (const name in headers) {
    if (DROPPED.has(name) || listed?.has(name)) continue
    const value = headerValue(headers, name)
    if (value !== undefined) pairs.push([name, value])
  }
  return pairs
}

/**
 * Fields a 304 must not change (RFC 9111 §3.2): they describe the stored body, which the 304 does not
 * carry.
 */
const CONTENT_FIELDS = new Set(['content-length', 'content-encoding', 'content-range', 'content-type'])

/**
 * Headers of a 304 (or a HEAD answer) replace the stored ones of the same name (RFC 9111 §3.2,
 * §4.3.4), except the content fields; the rest stay.
 */
export function mergeRevalidatedHeaders(stored: HeaderPairs, fresh: HeaderPairs): HeaderPairs {
  const replaced = new Map(
    fresh.filter(([name]) => !CONTENT_FIELDS.has(name)).map(([name, value]) => [name, value]),
  )
  const merged: HeaderPairs = stored.map(([name, value]) => {
    const update = replaced.get(name)
    if (update === undefined) return [name, value]
    replaced.delete(name)
    return [name, update]
  })
  for (const pair of replaced) merged.push(pair)
  return merged
}

/** Tags the upstream names for a response (Fastly's Surrogate-Key, Cloudflare's Cache-Tag). */
export function upstreamTags(headers: Record<string, string | string[] | undefined>): string[] {
  const tags: string[] = []
  const surrogate = headerValue(headers, 'surrogate-key')
  const cacheTag = headerValue(headers, 'cache-tag')
  for (const value of [surrogate, cacheTag]) {
    if (typeof value !== 'string') continue
    for (const tag of value.split(/[\s,]+/)) if (tag !== '') tags.push(tag)
  }
  return tags
}
