import type { UpstreamResponse } from '../../upstream/client/client.js'
import { cacheControlOf } from '../../util/cache-control.js'

// Which upstream answers are failures (429, 5xx, a non-JSON 200 where JSON is expected) is the
// upstream client's call (src/upstream/client/judge.ts): it throws UpstreamFailure for them. What is
// left here is what a shared cache may keep of the answers it does get.

/** Statuses a shared cache may keep with a ttl (RFC 9110 §15.1 heuristically cacheable, minus 206). */
const CACHEABLE = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])

export function isCacheableStatus(status: number): boolean {
  return CACHEABLE.has(status)
}

/**
 * Why the upstream says this answer is for one client only, or not to be kept at all: `no-store`,
 * `private`, or a `Set-Cookie` (a session handed to whoever asked). Undefined when a shared cache may
 * keep it.
 */
export function sharedStorageRefusal(
  headers: UpstreamResponse['headers'],
): 'no-store' | 'private' | 'set-cookie' | undefined {
  // The first of the two the upstream wrote is the reason given.
  for (const name of cacheControlOf(headers).keys()) {
    if (name === 'no-store' || name === 'private') return name
  }
  return headers['set-cookie'] !== undefined ? 'set-cookie' : undefined
}
