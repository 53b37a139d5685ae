import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Selector } from '../../stores/store.js'

/**
 * The cache key of a GET: `path?sorted-query`, then `#`-separated variant parts for the route's
 * `vary` headers and, unless the route says responses are public, a hash of the client's credentials
 * (so one client's authorized answer is never served to another). Keys read like the URL, so an
 * operator can purge by prefix (`/ftc/2024/`).
 */
export function cacheKey(
  path: string,
  normalizedQuery: string,
  headers: IncomingHttpHeaders,
  vary: readonly string[],
  isPublic: boolean,
): string {
  let key = normalizedQuery === '' ? path : `${path}?${normalizedQuery}`
  for (const name of vary) {
    const value = headers[name]
    if (value !== undefined) key += `#${name}=${Array.isArray(value) ? value.join(',') : value}`
  }
  if (!isPublic) {
    const credentials = credentialsOf(headers)
    if (credentials !== undefined)
      key += `#auth=${createHash('sha256').update(credentials).digest('base64url').slice(0, 22)}`
  }
  return key
}

/** Authorization and Cookie together, when the client sent either. */
export function credentialsOf(headers: IncomingHttpHeaders): string | undefined {
  const { authorization, cookie } = headers
  if (authorization === undefined && cookie === undefined) return undefined
  return `${authorization ?? ''}\n${cookie ?? ''}`
}

/** Everything a write to `path` makes stale (RFC 9111 §4.4): the path, with any query or variant. */
export function selectorsOfPath(path: string): Selector[] {
  return [{ key: path }, { prefix: `${path}?` }, { prefix: `${path}#` }]
}
