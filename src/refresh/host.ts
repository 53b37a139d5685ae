import type { RouteConfig } from '../config/types.js'
import type { Gateway } from '../gateway/gateway.js'
import type { StoredResponse } from '../gateway/response/stored-response.js'
import { requestKey, pathOfKey as routePathOfKey, targetOfKey } from '../gateway/routing/cache-key.js'
import type { RefreshOutcome } from '../gateway/server/refresh-key.js'
import type { Selector } from '../stores/store.js'
import type { Seen } from './schedule-store.js'

/**
 * What the refresh path needs of the gateway, in one place: the rest of src/refresh depends on this
 * interface only, so it can be tested without HTTP and the gateway's internals stay the gateway's.
 */
export interface RefreshHost {
  /** Ask the upstream again for a stored key, in the background lane. */
  refreshKey(key: string): Promise<RefreshOutcome>
  /** The version the cache holds now (fresh or servable stale), or undefined. */
  peek(key: string): Promise<(Seen & { tags: string[] }) | undefined>
  invalidateTags(tags: readonly string[], soft: boolean): Promise<number>
  /** The GET route that serves a key, with the path params. */
  locate(key: string): { route: RouteConfig; params: Record<string, string> } | undefined
  /** The cache key a client GET of `path` (with optional query) reads, without request headers. */
  keyOfPath(path: string): string | undefined
  /** Keys holding a tag (any of several) or starting with a prefix, each once, up to `limit`. */
  listKeys(
    selector: Exclude<Selector, { key: string } | { keys: readonly string[] }>,
    limit: number,
  ): Promise<string[]>
}

export function seenOf(value: StoredResponse, entry: { digest: string; fetchedAt: number }): Seen {
  return {
    digest: entry.digest,
    fetchedAt: entry.fetchedAt,
    body: value.body,
    headers: Object.fromEntries(value.headers),
  }
}

/** The request part of a key (`path?query`), before its variant parts. */
export const pathOfKey = targetOfKey

export function gatewayHost(gateway: Gateway): RefreshHost {
  const { cache, context } = gateway
  return {
    refreshKey: (key) => gateway.refreshKey(key),
    async peek(key) {
      const result = await cache.peek(key)
      return result && { ...seenOf(result.value, result.entry), tags: result.entry.tags }
    },
    invalidateTags: (tags, soft) => (tags.length ? cache.invalidate({ tags }, { soft }) : Promise.resolve(0)),
    locate(key) {
      const match = context.router.match('GET', routePathOfKey(key))
      return match.kind === 'route' ? { route: match.route.config, params: match.params } : undefined
    },
    keyOfPath(path) {
      const q = path.indexOf('?')
      const match = context.router.match('GET', q === -1 ? path : path.slice(0, q))
      if (match.kind !== 'route' || !match.route.config.cache) return undefined
      return requestKey(
        match.route,
        q === -1 ? path : path.slice(0, q),
        q === -1 ? '' : path.slice(q + 1),
        {},
      )
    },
    async listKeys(selector, limit) {
      if (!cache.hasStore) return []
      const keys = new Set<string>()
      const filters = 'tags' in selector ? selector.tags.map((tag) => ({ tag })) : [selector]
      for (const filter of filters) {
        let cursor: string | undefined
        do {
          if (keys.size >= limit) return [...keys]
          const page = await cache.list({
            ...filter,
            limit: Math.min(1000, limit - keys.size),
            ...(cursor && { cursor }),
          })
          for (const item of page.items) keys.add(item.key)
          cursor = page.cursor
        } while (cursor)
      }
      return [...keys]
    },
  }
}
