import { afterEach, describe, expect, it } from 'vitest'
import type { Cache, CacheCoordination } from '../../src/engine/cache.js'
import { createCache } from '../../src/engine/create-cache.js'
import { memoryStore } from '../../src/stores/memory/index.js'
import { createRedisBus, type RedisBus } from '../../src/stores/redis/bus.js'
import type { RedisConnection } from '../../src/stores/redis/connection.js'
import { createRedisLeases, leaseKey, type RedisLeases } from '../../src/stores/redis/leases.js'
import type { Store } from '../../src/stores/store.js'
import { findService } from '../support/services.js'
import { redisFixture } from './redis-helpers.js'

/**
 * Several caches in one process, each with its own Redis connection, bus and leases (as separate
 * instances would have), in front of one shared store. The store here is a memory store shared by
 * object; the Redis store's own tests cover the store.
 */

const bin = findService('redis-server')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(2)
  }
}

interface Node {
  cache: Cache<string>
  connection: RedisConnection
  bus: RedisBus
  leases: RedisLeases
  coordination: CacheCoordination & { healthy: () => boolean }
  /** Set false to make the coordination report itself unhealthy. */
  up: { healthy: boolean }
}

describe.skipIf(!bin)('caches sharing a store through a Redis coordination', () => {
  const redis = redisFixture(bin!)
  const nodes: Node[] = []
  let namespace = 0

  // Before the fixture closes the connections these sit on.
  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      await node.cache.close().catch(() => {})
      await node.bus.close()
      await node.leases.close()
    }
  })

  async function cluster(count: number, options: { leaseTtl?: number; store?: Store } = {}) {
    const ns = `cache${++namespace}`
    const store = options.store ?? memoryStore({ maxSize: '16MB' })
    const shared = sharedView(store)
    const made: Node[] = []
    for (let i = 0; i < count; i++) {
      const connection = await redis.connect(ns)
      const bus = createRedisBus(connection, `instance-${i}`, { blockMs: 200 })
      await bus.start()
      const leases = createRedisLeases(connection, `instance-${i}`)
      const up = { healthy: true }
      const coordination = {
        invalidations: bus,
        leases,
        healthy: () => up.healthy && connection.client.status === 'ready',
      }
      const cache = createCache<string>({
        store: shared,
        coordination,
        leaseTtl: options.leaseTtl ?? 2000,
        defaults: { ttl: '1m', stale: '1m' },
      })
      const node = { cache, connection, bus, leases, coordination, up }
      nodes.push(node)
      made.push(node)
    }
    return made
  }

  it('makes one factory call for 60 concurrent cold callers spread over 3 caches', async () => {
    const made = await cluster(3)
    let calls = 0
    const factory = async () => {
      calls++
      await sleep(50)
      return 'value'
    }
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => made[i % 3]!.cache.getOrSet('/cold', factory)),
    )
    expect(calls).toBe(1)
    expect(new Set(results.map((r) => r.value))).toEqual(new Set(['value']))
    // Every caller but the one that fetched waited on a fetch started elsewhere.
    expect(results.filter((r) => !r.collapsed)).toHaveLength(1)
  })

  it('shows an invalidation on one cache in the others’ memory tiers within 100 ms', async () => {
    const [a, b, c] = await cluster(3)
    await a!.cache.set('/p/1', 'one', { tags: ['t'] })
    await a!.cache.set('/p/2', 'two')
    for (const node of [b!, c!]) {
      expect(await node.cache.get('/p/1')).toBe('one')
      expect(await node.cache.get('/p/2')).toBe('two')
      expect(node.cache.peekMemory('/p/1')).toBeDefined()
    }
    const started = performance.now()
    await a!.cache.invalidate({ tag: 't' }, { soft: true })
    await until(
      () => [b!, c!].every((node) => node.cache.peekMemory('/p/1')!.entry.freshUntil <= Date.now()),
      'soft purge elsewhere',
      100,
    )
    // Soft: still served stale on the others, not dropped.
    expect((await b!.cache.peek('/p/1'))?.status).toBe('stale')
    await a!.cache.invalidate({ prefix: '/p/' })
    await until(
      () => [b!, c!].every((node) => node.cache.peekMemory('/p/2') === undefined),
      'hard purge elsewhere',
      100,
    )
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('drops the others’ memory copy on every write and delete, so they read the new value', async () => {
    const [a, b] = await cluster(2)
    await a!.cache.set('/k', 'old')
    expect(await b!.cache.get('/k')).toBe('old')
    await a!.cache.set('/k', 'new')
    await until(() => b!.cache.peekMemory('/k') === undefined, 'the write to reach b')
    expect(await b!.cache.get('/k')).toBe('new')
    // A fetch's write too.
    await a!.cache.getOrSet('/k', async () => 'fetched', { forceRefresh: true })
    await until(() => b!.cache.peekMemory('/k') === undefined, 'the fetch to reach b')
    expect(await b!.cache.get('/k')).toBe('fetched')
    await a!.cache.delete('/k')
    await until(() => b!.cache.peekMemory('/k') === undefined, 'the delete to reach b')
    expect(await b!.cache.get('/k')).toBeUndefined()
  })

  it('keeps no copy of a store read an invalidation overtook', async () => {
    const store = memoryStore({ maxSize: '16MB' })
    const [a, b] = await cluster(2, { store })
    await a!.cache.set('/race', 'old')
    // b's read of the store answers late: the old value, read before a's write.
    const oldEntry = await store.get('/race')
    let answer!: () => void
    const late = new Promise<void>((resolve) => {
      answer = resolve
    })
    const original = store.get.bind(store)
    store.get = async (key, now) => {
      if (key !== '/race') return original(key, now)
      await late
      return oldEntry
    }
    const reading = b!.cache.get('/race')
    await sleep(20)
    await a!.cache.set('/race', 'new')
    await sleep(50)
    answer()
    expect(await reading).toBe('old')
    store.get = original
    // Not kept: the next read goes to the store and finds the new value.
    expect(b!.cache.peekMemory('/race')).toBeUndefined()
    expect(await b!.cache.get('/race')).toBe('new')
  })

  it('clears the memory tier on a gap (its bus connection killed)', async () => {
    const [a, b] = await cluster(2)
    await a!.cache.set('/g', 'value')
    expect(await b!.cache.get('/g')).toBe('value')
    expect(b!.cache.memoryStats().entries).toBe(1)
    const list = (await a!.connection.client.client('LIST')) as string
    const line = list.split('\n').find((l) => l.includes('name=cistern-bus-instance-1'))!
    await a!.connection.client.client('KILL', 'ID', /(?:^| )id=(\d+)/.exec(line)![1]!)
    await until(() => b!.cache.memoryStats().entries === 0, 'the gap to clear b')
  })

  it('fetches per process at once while the coordination is unhealthy', async () => {
    const made = await cluster(3)
    for (const node of made) node.up.healthy = false
    let calls = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        made[i % 3]!.cache.getOrSet('/alone', async () => {
          calls++
          await sleep(20)
          return 'v'
        }),
      ),
    )
    expect(calls).toBe(3)
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('waits out a dead holder’s lease, then makes one more call among all waiters', async () => {
    const [a, b, c] = await cluster(3, { leaseTtl: 500 })
    // An instance took the lease and died: nothing renews or releases it.
    const ghostConnection = await redis.connect(`cache${namespace}`)
    const ghost = createRedisLeases(ghostConnection, 'ghost')
    const held = await ghost.acquire('/orphan', 500)
    expect(held).toBeDefined()
    ghostConnection.client.disconnect()
    let calls = 0
    const factory = async () => {
      calls++
      return 'rescued'
    }
    const started = performance.now()
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => [a!, b!, c!][i % 3]!.cache.getOrSet('/orphan', factory)),
    )
    const waited = performance.now() - started
    expect(calls).toBe(1)
    expect(results.every((r) => r.value === 'rescued')).toBe(true)
    expect(waited).toBeLessThan(500 + 400)
    // The ghost learns it lost the lease; its release is harmless.
    expect(held!.signal.aborted).toBe(true)
    await ghost.close()
    await ghostConnection.close()
  })

  it('does not write what it fetched under a lease it lost', async () => {
    const store = memoryStore({ maxSize: '16MB' })
    const [a, b] = await cluster(2, { leaseTtl: 300, store })
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const slow = a!.cache.getOrSet('/late', async () => {
      await gate
      return 'old'
    })
    await sleep(30)
    // The lease disappears under the holder (its instance froze past it); another instance fetches.
    await a!.connection.client.del(leaseKey(a!.connection, '/late'))
    expect((await b!.cache.getOrSet('/late', async () => 'new')).value).toBe('new')
    await sleep(200)
    open()
    const late = await slow
    // Its caller gets the answer it fetched, but neither tier keeps it.
    expect(late.value).toBe('old')
    expect(late.stored).toBe(false)
    expect(a!.cache.peekMemory('/late')).toBeUndefined()
    expect(await a!.cache.get('/late')).toBe('new')
  })
})

/**
 * The store as a store on a server looks to each instance: asynchronous reads only (no getSync), and
 * close() closes the instance's view, not the store the others use.
 */
function sharedView(store: Store): Store {
  return {
    name: store.name,
    get: (key, now) => store.get(key, now),
    set: (entry, options) => store.set(entry, options),
    delete: (key) => store.delete(key),
    invalidate: (selector, options) => store.invalidate(selector, options),
    list: (query) => store.list(query),
    stats: () => store.stats(),
    sweep: (now, limit) => store.sweep(now, limit),
    close: async () => {},
  }
}
