/**
 * guild-api's cache, in-process: what app/cache.py did with Redis (cache_get / cache_set /
 * cache_delete_pattern, @cached, cache_permission_check, invalidate_guild_cache) with cistern's engine.
 * The key patterns and TTLs are the team's own: permission:{guild}:{bnet}:{tool} 5 min,
 * guild:{guild}:members 5 min, user:profile:{bnet} 10 min.
 */
import { type Cache, createCache, type Store } from '../../src/index.js'

export interface GuildCacheOptions {
  /** The durable tier: sqliteStore({ path }) now; the Redis store when it lands. */
  store: Store
  /** The in-process tier in front of the store; it keeps answering when the store is unreachable. */
  memory?: string
  now?: () => number
}

export interface Permission {
  hasAccess: boolean
  rank: number | null
  required: number | null
}

export interface GuildCache {
  readonly cache: Cache
  /** cache_permission_check + check_permission_from_db + cache_set_permission_check, in one call. */
  permission(
    guildId: number,
    bnetId: number,
    tool: string,
    check: () => Permission,
  ): ReturnType<Cache['getOrSet']>
  /** The guild's member list (`guild:{id}:members`, 5 min). */
  members(guildId: number, load: () => unknown): ReturnType<Cache['getOrSet']>
  /** `@cached("user:profile", ttl=600)`: a cached function of the Battle.net id. */
  profile: (bnetId: number) => Promise<unknown>
  /** Guild permissions changed: every permission check of that guild. */
  invalidatePermissions(guildId: number): Promise<number>
  /** Roster synced: the member list, and every permission check of the guild (ranks moved). */
  invalidateRoster(guildId: number): Promise<number>
  /** User data changed: their profile and, through the tag, every permission check of theirs. */
  invalidateUser(bnetId: number): Promise<number>
  close(): Promise<void>
}

export function createGuildCache(
  options: GuildCacheOptions,
  loadProfile: (bnetId: number) => unknown,
): GuildCache {
  const cache = createCache({
    store: options.store,
    memory: options.memory ?? '32MB',
    defaults: { ttl: '5m' },
    ...(options.now && { now: options.now }),
  })
  return {
    cache,
    permission: (guildId, bnetId, tool, check) =>
      cache.getOrSet(`permission:${guildId}:${bnetId}:${tool}`, check, {
        ttl: '5m',
        tags: [`guild:${guildId}`, `user:${bnetId}`],
      }),
    members: (guildId, load) =>
      cache.getOrSet(`guild:${guildId}:members`, load, { ttl: '5m', tags: [`guild:${guildId}`] }),
    profile: cache.wrap(async (bnetId: number) => loadProfile(bnetId), {
      key: (bnetId) => `user:profile:${bnetId}`,
      ttl: '10m',
    }),
    // cache_delete_pattern("permission:{guild}:*") is a prefix delete: indexed, never a KEYS scan.
    invalidatePermissions: (guildId) => cache.invalidate({ prefix: `permission:${guildId}:` }),
    invalidateRoster: async (guildId) =>
      (await cache.invalidate({ key: `guild:${guildId}:members` })) +
      (await cache.invalidate({ prefix: `permission:${guildId}:` })),
    invalidateUser: async (bnetId) =>
      (await cache.invalidate({ key: `user:profile:${bnetId}` })) +
      (await cache.invalidate({ tag: `user:${bnetId}` })),
    close: () => cache.close(),
  }
}
