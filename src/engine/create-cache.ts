import type { Store } from '../stores/store.js'
import { parseDuration, parseSize, type Size } from '../util/units.js'
import { Cache, type CacheCoordination } from './cache.js'
import { type Codec, jsonCodec } from './codec.js'
import { MemoryTier } from './memory-tier.js'
import { BUILTIN_DEFAULTS, type EntryOptions, resolveEntryOptions } from './options.js'

export interface CreateCacheOptions<T> {
  /** The durable tier (sqliteStore, memoryStore, ...). Without one, the cache lives in memory only. */
  store?: Store
  /** The in-process tier's byte bound (default 64MB); 0 or false turns it off. */
  memory?: Size | false
  /** How values become bytes (default JSON). */
  codec?: Codec<T>
  /** Defaults for ttl, stale, staleIfError and jitter (default ttl 1m, no stale window). */
  defaults?: Pick<EntryOptions, 'ttl' | 'stale' | 'staleIfError' | 'jitter'>
  /** Deadline for each store call before the engine carries on without it (default 1s). */
  storeTimeout?: number | string
  /** Longest key accepted (default 1024 characters). */
  maxKeyLength?: number
  /**
   * Several instances sharing one store (Redis, Postgres): the store's Coordination. Memory tiers then
   * follow each other's writes and invalidations, and one instance fetches a missing key for all.
   * Without one (or while it is unhealthy) everything stays per process.
   */
  coordination?: CacheCoordination
  /**
   * With a coordination: how long a fetch's lease lasts unless renewed (default 5s). An instance that
   * dies mid-fetch keeps the others waiting this long at most.
   */
  leaseTtl?: number | string
  /** The clock (ms since the epoch); injectable for tests. */
  now?: () => number
}

export const DEFAULT_MAX_KEY_LENGTH = 1024

export function createCache<T = unknown>(options: CreateCacheOptions<T> = {}): Cache<T> {
  const codec = options.codec ?? (jsonCodec as Codec<T>)
  const memoryBytes = options.memory === false ? 0 : parseSize(options.memory ?? '64MB', 'createCache memory')
  const { tags: _tags, meta: _meta, ...defaults } = resolveEntryOptions(options.defaults, BUILTIN_DEFAULTS)
  return new Cache<T>({
    store: options.store,
    coordination: options.coordination,
    leaseTtlMs: parseDuration(options.leaseTtl ?? 5000, 'createCache leaseTtl'),
    memory: new MemoryTier<T>(memoryBytes, codec),
    codec,
    defaults,
    now: options.now ?? Date.now,
    storeTimeoutMs: parseDuration(options.storeTimeout ?? 1000, 'createCache storeTimeout'),
    maxKeyLength: options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH,
  })
}
