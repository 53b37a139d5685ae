import type { Coordination } from '../stores/coordination.js'
import type { Store } from '../stores/store.js'
import { parseDuration, parseSize, type Size } from '../util/units.js'
import { Cache } from './cache.js'
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
  /** The clock (ms since the epoch); injectable for tests. */
  now?: () => number
  /**
   * What instances sharing `store` share beyond the entries (openCoordination): memory tiers kept in
   * agreement, one fetch per key across instances. Without one, both stay per process.
   */
  coordination?: Coordination
}

export const DEFAULT_MAX_KEY_LENGTH = 1024

export function createCache<T = unknown>(options: CreateCacheOptions<T> = {}): Cache<T> {
  const codec = options.codec ?? (jsonCodec as Codec<T>)
  const memoryBytes = options.memory === false ? 0 : parseSize(options.memory ?? '64MB', 'createCache memory')
  const { tags: _tags, meta: _meta, ...defaults } = resolveEntryOptions(options.defaults, BUILTIN_DEFAULTS)
  return new Cache<T>({
    store: options.store,
    memory: new MemoryTier<T>(memoryBytes, codec),
    codec,
    defaults,
    now: options.now ?? Date.now,
    storeTimeoutMs: parseDuration(options.storeTimeout ?? 1000, 'createCache storeTimeout'),
    maxKeyLength: options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH,
  })
}
