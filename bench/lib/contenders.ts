/**
 * Each library set up the way the comparison needs it: values kept as live objects in memory (no
 * serialization on a memory hit), the same keys, the same ~1 KB value, a one-hour TTL. Each
 * contender exposes one getOrSet-style hit and one set; both rotate through the same key set.
 */
import { type CacheEntry, type Cache as CachifiedCache, cachified, totalTtl } from '@epic-web/cachified'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { LRUCache } from 'lru-cache'
import { createCache } from '../../src/engine/index.js'
import type { Store } from '../../src/stores/store.js'
import { type JsonObject, KEY_COUNT, KEYS, makeValue, rotation, TTL_MS } from './fixtures.js'

export interface Contender {
  /** Row label. */
  readonly name: string
  /** A getOrSet (or the library's equivalent) on a warm key: must never run the factory. */
  readonly hit: () => Promise<unknown>
  /** Writes a value the caller already has. */
  readonly set: () => Promise<unknown>
  /** How often a hit benchmark ran the factory (anything but 0 means the hit numbers are wrong). */
  readonly factoryCalls: () => number
  readonly close: () => Promise<void>
}

/** Prebuilt values: building a 1 KB object is not part of any operation measured here. */
export const VALUES: readonly JsonObject[] = Array.from({ length: KEY_COUNT }, (_, i) => makeValue(i))

/** Warms every key through the contender's own write path, so hits find exactly what set() wrote. */
async function warm(set: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < KEY_COUNT; i++) await set()
}

/** A factory that counts its calls; on a warm cache it must never run. */
function countingFactory(): { factory: () => JsonObject; calls: () => number } {
  let calls = 0
  let next = 0
  return {
    factory: () => {
      calls++
      return VALUES[next++ & (KEY_COUNT - 1)]!
    },
    calls: () => calls,
  }
}

/** cistern: createCache with the memory tier (LRU bounded by bytes) and optionally a store behind it. */
export async function cistern(
  name: string,
  options: { store?: Store; memory?: string | false } = {},
): Promise<Contender> {
  const cache = createCache<JsonObject>({ store: options.store, memory: options.memory ?? '64MB' })
  const counter = countingFactory()
  const hitKey = rotation(KEYS)
  const setKey = rotation(KEYS)
  const entryOptions = { ttl: TTL_MS }
  let v = 0
  const set = () => cache.set(setKey(), VALUES[v++ & (KEY_COUNT - 1)]!, entryOptions)
  await warm(set)
  return {
    name,
    hit: () => cache.getOrSet(hitKey(), counter.factory, entryOptions),
    set,
    factoryCalls: counter.calls,
    close: () => cache.close(),
  }
}

/** bentocache: one store with only an L1 memoryDriver. `serialize: false` keeps live objects. */
export async function bentocache(name: string, serialize: boolean): Promise<Contender> {
  const bento = new BentoCache({
    default: 'memory',
    stores: {
      memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize })),
    },
  })
  const counter = countingFactory()
  const hitKey = rotation(KEYS)
  const setKey = rotation(KEYS)
  let v = 0
  const set = () => bento.set({ key: setKey(), value: VALUES[v++ & (KEY_COUNT - 1)]!, ttl: TTL_MS })
  await warm(set)
  return {
    name,
    hit: () => bento.getOrSet({ key: hitKey(), factory: counter.factory, ttl: TTL_MS }),
    set,
    factoryCalls: counter.calls,
    close: () => bento.disconnectAll(),
  }
}

/**
 * cache-manager: createCache() with no stores, i.e. its default in-memory Keyv over a Map, whose
 * serialize/deserialize cache-manager switches off itself (values are kept as objects).
 */
export async function cacheManager(name: string): Promise<Contender> {
  const cache = createCacheManager()
  const counter = countingFactory()
  const hitKey = rotation(KEYS)
  const setKey = rotation(KEYS)
  let v = 0
  const set = () => cache.set(setKey(), VALUES[v++ & (KEY_COUNT - 1)]!, TTL_MS)
  await warm(set)
  return {
    name,
    hit: () => cache.wrap(hitKey(), counter.factory, TTL_MS),
    set,
    factoryCalls: counter.calls,
    close: () => cache.disconnect().then(() => undefined),
  }
}

/**
 * @epic-web/cachified over lru-cache (the adapter from cachified's README): entries are kept as
 * `{ metadata, value }` objects, never serialized. Its "set" is cachified({ forceFresh: true }),
 * which skips the read and writes whatever getFreshValue returns through the same adapter.
 */
export async function cachifiedLru(name: string): Promise<Contender> {
  const lru = new LRUCache<string, CacheEntry>({ max: 10_000 })
  const cache: CachifiedCache = {
    name: 'lru-cache',
    set(key, value) {
      const ttl = totalTtl(value.metadata)
      return lru.set(key, value, {
        ttl: ttl === Number.POSITIVE_INFINITY ? undefined : ttl,
        start: value.metadata.createdTime,
      })
    },
    get: (key) => lru.get(key),
    delete: (key) => lru.delete(key),
  }
  const counter = countingFactory()
  const hitKey = rotation(KEYS)
  const setKey = rotation(KEYS)
  let v = 0
  const set = () => {
    const value = VALUES[v++ & (KEY_COUNT - 1)]!
    return cachified({ key: setKey(), cache, forceFresh: true, getFreshValue: () => value, ttl: TTL_MS })
  }
  await warm(set)
  return {
    name,
    hit: () => cachified({ key: hitKey(), cache, getFreshValue: counter.factory, ttl: TTL_MS }),
    set,
    factoryCalls: counter.calls,
    close: async () => lru.clear(),
  }
}
