import type { IncomingHttpHeaders } from 'node:http'
import type { Factory } from '../../engine/fetch/context.js'
import type { GetOrSetOptions } from '../../engine/options.js'
import { learnResponseVary } from '../fetch/response-vary.js'
import { upstreamFactory } from '../fetch/upstream-factory.js'
import type { StoredResponse } from '../response/stored-response.js'
import { pathOfKey } from '../routing/cache-key.js'
import type { Route } from '../routing/router.js'
import type { GatewayContext } from './context.js'
import { renderTags, upstreamTarget } from './targets.js'

/**
 * The engine call for one cached GET: the factory that asks the route's upstream, and the entry
 * options the route names. Shared by the request path and the refresh path, so a background refresh
 * stores exactly what a client miss would. `responseVary` names the upstream-Vary headers the key
 * holds.
 */
export function routeFetch(
  ctx: GatewayContext,
  route: Route,
  params: Record<string, string>,
  query: string,
  clientHeaders: IncomingHttpHeaders,
  responseVary: readonly string[],
): { factory: Factory<StoredResponse>; options: GetOrSetOptions } {
  const config = route.config
  const upstream = ctx.upstreams.get(config.upstream)!
  const { path, query: upstreamQuery } = upstreamTarget(config, params, query, route.ignoredQuery)
  const cache = ctx.cache
  const factory = upstreamFactory({
    route: config,
    upstream: upstream.config,
    client: upstream.client,
    path,
    query: upstreamQuery,
    clientHeaders,
    responseVary,
    learnResponseVary: (names, key) => learnResponseVary(route, names, key),
    ...(cache.hasStore && {
      admitNewKey: (key) => route.variants.admit(cache, pathOfKey(key), ctx.now()),
    }),
    now: ctx.now,
  })
  const options = {
    ttl: config.ttl ?? 0,
    stale: config.stale,
    staleIfError: config.staleIfError,
    jitter: config.jitter,
    tags: renderTags(config.tags, params),
  }
  return { factory, options }
}
