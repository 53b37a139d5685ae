import type { CacheResult } from '../../engine/result.js'
import type { StoredResponse } from '../response/stored-response.js'
import type { GatewayContext } from './context.js'
import { routeFetch } from './route-fetch.js'

export type RefreshOutcome =
  | { kind: 'refreshed'; result: CacheResult<StoredResponse> }
  /** The key carries a client's credentials (only a hash of them), so nobody else can refresh it. */
  | { kind: 'private' }
  /** No cached route answers this key's path any more (config changed). */
  | { kind: 'no-route' }

/**
 * Refresh a stored key in the background lane. A key reads like its request (`path?query`, then
 * `#header=value` for the route's vary headers), so the route, params and headers come back from it.
 */
export async function refreshKey(ctx: GatewayContext, key: string): Promise<RefreshOutcome> {
  const [base, ...variants] = key.split('#')
  const headers: Record<string, string> = {}
  for (const variant of variants) {
    const eq = variant.indexOf('=')
    const name = variant.slice(0, eq)
    if (name === 'auth') return { kind: 'private' }
    headers[name] = variant.slice(eq + 1)
  }
  const q = base!.indexOf('?')
  const path = q === -1 ? base! : base!.slice(0, q)
  const query = q === -1 ? '' : base!.slice(q + 1)
  const match = ctx.router.match('GET', path)
  if (match.kind !== 'route' || !match.route.config.cache) return { kind: 'no-route' }
  const { factory, options } = routeFetch(ctx, match.route, match.params, query, headers)
  return { kind: 'refreshed', result: await ctx.cache.refresh(key, factory, options) }
}
