import type { UpstreamResponse } from '../../upstream/client/client.js'
import { cacheControlOf } from '../../util/cache-control.js'

// Which upstream answers are failures (429, 5xx, a non-JSON 200 where JSON is expected) is the
// upstream client's call (src/upstream/client/judge.ts): it throws UpstreamFailure for them. What is
// left here is what a ttl route may keep of the answers it does get; routes without a ttl follow
// RFC 9111 as a whole (http-freshness.ts).

/**
 * Why the upstream says this answer is for one client only, or not to be kept at all: `no-store` or
 * `private`. Undefined when a shared cache may keep it.
 */
export function sharedStorageRefusal(
  headers: UpstreamResponse['headers'],
): 'no-store' | 'private' | undefined {
  // The first of the two the upstream wrote is the reason given.
  for (const name of cacheControlOf(headers).keys()) {
    if (name === 'no-store' || name === 'private') return name
  }
  return undefined
}
