import diagnostics_channel from 'node:diagnostics_channel'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { createCache } from '../../src/engine/index.js'
import { memoryStore } from '../../src/stores/memory/index.js'
import { sqliteStore } from '../../src/stores/sqlite/index.js'
import type { Store } from '../../src/stores/store.js'
import { CisternError } from '../../src/util/errors.js'
import { cacheWithClock } from './helpers.js'

describe('two tiers', () => {
  it('promotes a store hit to memory and survives a memory-tier eviction', async () => {
    const store = memoryStore()
    const first = createCache<string>({ store })
    await first.set('k', 'v', { ttl: '1h' })
    // A second cache over the same store has an empty memory tier: the hit comes from the store.
    const second = createCache<string>({ store })
    const factory = vi.fn(() => 'other')
    expect(await second.getOrSet('k', factory, { ttl: '1h' })).toMatchObject({ status: 'hit', value: 'v' })
    expect(second.memoryStats().entries).toBe(1)
    expect(factory).not.toHaveBeenCalled()
  })

  it('works with the memory tier switched off', async () => {
    const cache = createCache<number>({ store: memoryStore(), memory: false })
    await cache.getOrSet('k', () => 1, { ttl: '1h' })
    expect(cache.memoryStats().entries).toBe(0)
    expect(await cache.getOrSet('k', () => 2, { ttl: '1h' })).toMatchObject({ status: 'hit', value: 1 })
  })

  it('keeps the memory tier within its byte bound', async () => {
    const cache = createCache<string>({ memory: '256KB' })
    for (let i = 0; i < 5000; i++) await cache.set(`key:${i}`, 'x'.repeat(200), { ttl: '1h' })
    const stats = cache.memoryStats()
    expect(stats.bytes).toBeLessThanOrEqual(256_000)
    expect(stats.entries).toBeGreaterThan(100)
    expect(await cache.get('key:4999')).toBe('x'.repeat(200))
    expect(await cache.get('key:0')).toBeUndefined()
  })

  it('degrades to memory plus the factory when the store fails', async () => {
    const broken: Store = {
      name: 'broken',
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      delete: () => Promise.reject(new Error('down')),
      invalidate: () => Promise.reject(new Error('down')),
      list: () => Promise.reject(new Error('down')),
      stats: () => Promise.reject(new Error('down')),
      sweep: () => Promise.reject(new Error('down')),
      close: () => Promise.resolve(),
    }
    const errors: unknown[] = []
    const listener = (message: unknown) => errors.push(message)
    diagnostics_channel.subscribe('cistern:cache:error', listener)
    try {
      const cache = createCache<number>({ store: broken })
      expect(await cache.getOrSet('k', () => 7, { ttl: '1h' })).toMatchObject({ status: 'miss', value: 7 })
      expect(await cache.getOrSet('k', () => 8, { ttl: '1h' })).toMatchObject({ status: 'hit', value: 7 })
      expect(errors.length).toBeGreaterThanOrEqual(2)
    } finally {
      diagnostics_channel.unsubscribe('cistern:cache:error', listener)
    }
  })

  it('degrades the same way when a synchronous store read throws', async () => {
    const store = memoryStore()
    store.getSync = () => {
      throw new Error('disk gone')
    }
    const errors: { phase?: string }[] = []
    const listener = (message: unknown) => errors.push(message as { phase?: string })
    diagnostics_channel.subscribe('cistern:cache:error', listener)
    try {
      const cache = createCache<number>({ store, memory: false })
      expect(await cache.getOrSet('k', () => 7, { ttl: '1h' })).toMatchObject({ status: 'miss', value: 7 })
      expect(errors.map((e) => e.phase)).toContain('store')
    } finally {
      diagnostics_channel.unsubscribe('cistern:cache:error', listener)
    }
  })

  it('reads SQLite as text with the memory tier off; a revalidation stores the very same bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cistern-text-'))
    const store = sqliteStore({ path: join(dir, 'cache.db'), sweepIntervalMs: 0 })
    const textReads = vi.spyOn(store, 'getTextSync')
    try {
      const { cache, clock } = cacheWithClock<unknown>({ store, memory: false })
      const value = { name: 'Zoë', cities: ['東京', 'Köln'], n: 1.5 }
      await cache.set('k', value, { ttl: '1s', stale: '1h' })
      const before = await store.get('k', clock.now())
      expect(await cache.getOrSet('k', () => 'other')).toMatchObject({ status: 'hit', value })
      expect(textReads).toHaveBeenCalled()
      clock.advance(2000)
      const refreshed = new Promise<void>((resolve) => {
        const stale = cache.getOrSet(
          'k',
          (ctx) => {
            setImmediate(resolve)
            return ctx.notModified()
          },
          { ttl: '1m', stale: '1h' },
        )
        void stale.then((result) => expect(result).toMatchObject({ status: 'stale', value }))
      })
      await refreshed
      await new Promise((resolve) => setImmediate(resolve))
      const after = await store.get('k', clock.now())
      expect(after?.fetchedAt).toBe(clock.now())
      expect(Buffer.from(after!.value).equals(Buffer.from(before!.value))).toBe(true)
      expect(after?.digest).toBe(before?.digest)
      expect(await cache.getOrSet('k', () => 'other')).toMatchObject({ status: 'hit', value })
    } finally {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('gives up on a hanging store after storeTimeout', async () => {
    const hanging = {
      ...memoryStore(),
      name: 'hanging',
      get: () => new Promise<undefined>(() => {}),
    } as Store
    const cache = createCache<number>({ store: hanging, storeTimeout: 30 })
    const started = Date.now()
    expect(await cache.getOrSet('k', () => 1)).toMatchObject({ status: 'miss', value: 1 })
    expect(Date.now() - started).toBeLessThan(500)
  })
})

describe('store views: list, storeStats, inspect', () => {
  it('lists and counts what the store holds, and inspects an entry without its value', async () => {
    // The real clock: the memory store lists what has not expired by Date.now().
    const cache = createCache<{ n: number }>({ store: memoryStore() })
    await cache.set('team:1', { n: 1 }, { ttl: '1h', tags: ['teams'] })
    await cache.set('team:2', { n: 2 }, { ttl: '1h' })
    await cache.set('event:1', { n: 3 }, { ttl: '1h' })
    expect(cache.hasStore).toBe(true)
    const page = await cache.list({ prefix: 'team:', limit: 10 })
    expect(page.items.map((item) => item.key)).toEqual(['team:1', 'team:2'])
    expect(page.items[0]).not.toHaveProperty('value')
    expect(await cache.storeStats()).toMatchObject({ entries: 3 })
    const info = await cache.inspect('team:1')
    expect(info).toMatchObject({ key: 'team:1', tags: ['teams'] })
    expect(info).not.toHaveProperty('value')
    expect(await cache.inspect('team:9')).toBeUndefined()
  })

  it('without a store: empty listings, no counters, and inspect reads the memory tier', async () => {
    const { cache } = cacheWithClock<number>()
    await cache.set('k', 1, { ttl: '1h' })
    expect(cache.hasStore).toBe(false)
    expect(await cache.list({ limit: 10 })).toEqual({ items: [] })
    expect(await cache.storeStats()).toBeUndefined()
    expect(await cache.inspect('k')).toMatchObject({ key: 'k' })
  })

  it('a hanging store: listings and counters reject with E_STORE_TIMEOUT, inspect reads as missing', async () => {
    const base = memoryStore()
    const hang = () => new Promise<never>(() => {})
    const hanging: Store = {
      name: 'hanging',
      get: hang,
      set: (entry) => base.set(entry),
      delete: hang,
      invalidate: hang,
      list: hang,
      stats: hang,
      sweep: hang,
      close: () => base.close(),
    }
    const cache = createCache<number>({ store: hanging, storeTimeout: 20 })
    const started = Date.now()
    await expect(cache.list({ limit: 10 })).rejects.toMatchObject({ code: 'E_STORE_TIMEOUT' })
    await expect(cache.storeStats()).rejects.toMatchObject({ code: 'E_STORE_TIMEOUT' })
    expect(await cache.inspect('k')).toBeUndefined()
    // A listing page gets five store timeouts (100 ms here), a read one: well under a second in all.
    expect(Date.now() - started).toBeLessThan(1000)
    expect(cache.storeHealth()).toMatchObject({ ok: false, recentFailures: 3 })
  })

  it('a failing store: the listing rejects with the store error', async () => {
    const failing = { ...memoryStore(), name: 'failing' } as Store
    const store: Store = {
      ...failing,
      get: () => Promise.resolve(undefined),
      list: () => Promise.reject(new Error('disk on fire')),
      stats: () => Promise.reject(new Error('disk on fire')),
    }
    const cache = createCache<number>({ store })
    await expect(cache.list({ limit: 10 })).rejects.toMatchObject({
      code: 'E_STORE',
      message: expect.stringContaining('disk on fire'),
    })
    await expect(cache.storeStats()).rejects.toMatchObject({ code: 'E_STORE' })
  })
})

describe('invalidation', () => {
  async function seeded() {
    const setup = cacheWithClock<string>({ store: memoryStore() })
    const { cache } = setup
    await cache.set('team:1', 'a', { ttl: '1h', stale: '1h', tags: ['teams', 'team:1'] })
    await cache.set('team:2', 'b', { ttl: '1h', stale: '1h', tags: ['teams'] })
    await cache.set('event:x', 'c', { ttl: '1h', stale: '1h', tags: ['event:x'] })
    return setup
  }

  it('by tag, hard: both tiers lose exactly the tagged entries', async () => {
    const { cache } = await seeded()
    expect(await cache.invalidate({ tag: 'teams' })).toBe(2)
    expect(await cache.get('team:1')).toBeUndefined()
    expect(await cache.get('team:2')).toBeUndefined()
    expect(await cache.get('event:x')).toBe('c')
  })

  it('by several tags: an entry holding two of them counts once, in the memory tier as in the store', async () => {
    for (const store of [memoryStore(), undefined]) {
      const cache = cacheWithClock<string>(store ? { store } : {}).cache
      await cache.set('team:1', 'a', { ttl: '1h', stale: '1h', tags: ['teams', 'team:1'] })
      await cache.set('team:2', 'b', { ttl: '1h', stale: '1h', tags: ['teams'] })
      await cache.set('event:x', 'c', { ttl: '1h', stale: '1h', tags: ['event:x'] })
      expect(await cache.invalidate({ tags: ['teams', 'team:1', 'nobody'] }, { soft: true })).toBe(2)
      expect(await cache.invalidate({ tags: ['team:1', 'teams'] })).toBe(2)
      expect(await cache.get('team:1')).toBeUndefined()
      expect(await cache.get('event:x')).toBe('c')
    }
  })

  it('by prefix and by key', async () => {
    const { cache } = await seeded()
    expect(await cache.invalidate({ prefix: 'team:' })).toBe(2)
    expect(await cache.invalidate({ key: 'event:x' })).toBe(1)
    expect(await cache.get('event:x')).toBeUndefined()
  })

  it('soft keeps the copy servable stale and the next read refreshes it once', async () => {
    const { cache } = await seeded()
    expect(await cache.invalidate({ tags: ['team:1'] }, { soft: true })).toBe(1)
    const factory = vi.fn(() => 'fresh')
    const read = await cache.getOrSet('team:1', factory, { ttl: '1h', stale: '1h' })
    expect(read).toMatchObject({ status: 'stale', value: 'a' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(factory).toHaveBeenCalledTimes(1)
    expect(await cache.getOrSet('team:1', factory, { ttl: '1h' })).toMatchObject({
      status: 'hit',
      value: 'fresh',
    })
  })
})

describe('get, set, delete, wrap', () => {
  it('wrap caches by the key function', async () => {
    const { cache } = cacheWithClock<{ team: number }>()
    const api = vi.fn(async (n: number) => ({ team: n }))
    const getTeam = cache.wrap(api, { key: (n) => `team:${n}`, ttl: '1h' })
    expect(await getTeam(5)).toEqual({ team: 5 })
    expect(await getTeam(5)).toEqual({ team: 5 })
    expect(await getTeam(6)).toEqual({ team: 6 })
    expect(api).toHaveBeenCalledTimes(2)
  })

  it('delete removes from both tiers', async () => {
    const { cache } = cacheWithClock<number>({ store: memoryStore() })
    await cache.set('k', 1)
    expect(await cache.delete('k')).toBe(true)
    expect(await cache.get('k')).toBeUndefined()
  })
})

describe('bad input', () => {
  it('refuses empty and over-long keys with codes', async () => {
    const { cache } = cacheWithClock<number>()
    await expect(cache.getOrSet('', () => 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
    await expect(cache.getOrSet('k'.repeat(1025), () => 1)).rejects.toMatchObject({ code: 'E_KEY_TOO_LONG' })
  })

  it('refuses bad durations with a message that says which option', async () => {
    const { cache } = cacheWithClock<number>()
    const error = await cache.getOrSet('k', () => 1, { ttl: '5 minutes' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CisternError)
    expect(error).toMatchObject({ code: 'E_INVALID_DURATION' })
    expect((error as Error).message).toMatch(/^ttl: "5 minutes"/)
  })

  it('refuses values JSON cannot hold, and stores nothing', async () => {
    const store = memoryStore()
    const cache = createCache<unknown>({ store })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(cache.getOrSet('k', () => cyclic)).rejects.toMatchObject({ code: 'E_SERIALIZE' })
    await expect(cache.getOrSet('u', () => undefined)).rejects.toMatchObject({ code: 'E_SERIALIZE' })
    await expect(cache.set('b', 10n)).rejects.toMatchObject({ code: 'E_SERIALIZE' })
    expect((await store.stats()).entries).toBe(0)
  })

  it('rejects use after close', async () => {
    const { cache } = cacheWithClock<number>()
    await cache.close()
    await expect(cache.getOrSet('k', () => 1)).rejects.toMatchObject({ code: 'E_CLOSED' })
  })
})

describe('events', () => {
  it('publishes hit, miss, stale and fetch through diagnostics_channel', async () => {
    const seen: string[] = []
    const names = ['hit', 'miss', 'stale', 'fetch'] as const
    const listeners = names.map((name) => {
      const listener = () => seen.push(name)
      diagnostics_channel.subscribe(`cistern:cache:${name}`, listener)
      return [name, listener] as const
    })
    try {
      const { cache, clock } = cacheWithClock<number>()
      await cache.getOrSet('k', () => 1, { ttl: 100, stale: 1000 })
      await cache.getOrSet('k', () => 1, { ttl: 100, stale: 1000 })
      clock.advance(200)
      await cache.getOrSet('k', () => 2, { ttl: 100, stale: 1000 })
      await new Promise((resolve) => setImmediate(resolve))
      expect(seen).toEqual(['miss', 'fetch', 'hit', 'stale', 'fetch'])
    } finally {
      for (const [name, listener] of listeners)
        diagnostics_channel.unsubscribe(`cistern:cache:${name}`, listener)
    }
  })
})

describe('keys the stores could not keep faithfully', () => {
  it('refuses a key with an unpaired surrogate', async () => {
    const cache = createCache<number>()
    await expect(cache.getOrSet('team:\uD800', () => 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
    expect(await cache.getOrSet('team:😀', () => 1)).toMatchObject({ status: 'miss' })
  })
})
