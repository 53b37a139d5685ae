import type { CacheResult } from '../../engine/result.js'
import type { StoredResponse } from '../response/stored-response.js'
import { parseKey } from '../routing/cache-key.js'
import type { GatewayContext } from './context.js'
import { routeFetch } from './route-fetch.js'

export type RefreshOutcome =
  | { kind: 'refreshed'; result: CacheResult<StoredResponse> }
  /** The key carries a client's credentials (only a hash of them), so nobody else can refresh it. */
  | { kind: 'private' }
  /** No cached route answers this key's path any more (config changed). */
  | { kind: 'no-route' }

/**
 * Refresh a stored key in the background lane. A key reads like its request (`path?query`, then its
 * vary and upstream-Vary header parts), so the route, params and headers come back from it.
 */
export async function refreshKey(ctx: GatewayContext, key: string): Promise<RefreshOutcome> {
  const parsed = parseKey(key)
  if (parsed.private) return { kind: 'private' }
  const match = ctx.router.match('GET', parsed.path)
  if (match.kind !== 'route' || !match.route.config.cache) return { kind: 'no-route' }
  const { factory, options } = routeFetch(
    ctx,
    match.route,
    match.params,
    parsed.query,
    parsed.headers,
    parsed.responseVary,
  )
  return { kind: 'refreshed', result: await ctx.cache.refresh(key, factory, options) }
}
