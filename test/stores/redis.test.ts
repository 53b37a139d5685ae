import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { RedisEntryStore, redisStore, SHARDS } from '../../src/stores/redis/store.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'
import { listKeys, makeEntry } from './contract/support.js'
import { runStoreContract } from './contract.js'

const bin = findService('redis-server')

describe.skipIf(!bin)('redis store', () => {
  let server: ServiceHandle
  beforeAll(async () => {
    server = await startRedis(bin!)
  })
  afterAll(() => server?.stop())

  /** A store on a namespace of its own, so tests share one server without seeing each other. */
  const open = (namespace = `t${randomUUID().slice(0, 8)}`, maxSize = '256MB') =>
    new RedisEntryStore({
      connection: new RedisConnection({ url: server.url, namespace }),
      ownsConnection: true,
      maxSize,
    })

  runStoreContract('redis', async () => {
    const namespace = `c${randomUUID().slice(0, 8)}`
    return { store: open(namespace), reopen: async () => open(namespace), cleanup: async () => {} }
  })

  describe('redis specifics', () => {
    it('drops a write whose fence is older than the stored version, keeps an equal or newer one', async () => {
      const store = open()
      await store.set(makeEntry('k', { value: Buffer.from('fence 10') }), { fence: 10 })
      await store.set(makeEntry('k', { value: Buffer.from('late fence 9') }), { fence: 9 })
      expect(Buffer.from((await store.get('k'))!.value).toString()).toBe('fence 10')
      await store.set(makeEntry('k', { value: Buffer.from('again 10') }), { fence: 10 })
      expect(Buffer.from((await store.get('k'))!.value).toString()).toBe('again 10')
      // An unfenced write outranks every fence seen before it: the holder of fence 10 writes too late.
      await store.set(makeEntry('k', { value: Buffer.from('unfenced') }))
      await store.set(makeEntry('k', { value: Buffer.from('late fence 10') }), { fence: 10 })
      expect(Buffer.from((await store.get('k'))!.value).toString()).toBe('unfenced')
      await store.close()
    })

    it('expires entries by Redis TTL at expiresAt, and the sweep cleans the indexes after it', async () => {
      const store = open()
      const now = Date.now()
      await store.set(
        makeEntry('soon', { freshUntil: now + 50, staleUntil: now + 100, expiresAt: now + 150, tags: ['t'] }),
      )
      const redis = new Redis(server.url)
      const [hash] = await redis.keys(`${store.connection.namespace}:*:e:soon`)
      expect(Number(await redis.pttl(hash!))).toBeGreaterThan(0)
      await new Promise((resolve) => setTimeout(resolve, 250))
      expect(await redis.exists(hash!)).toBe(0)
      expect(await store.stats()).toMatchObject({ entries: 1 })
      expect(await store.sweep(Date.now(), 10)).toBe(1)
      expect(await store.stats()).toEqual({ entries: 0, bytes: 0 })
      expect(await listKeys(store, { tag: 't' })).toEqual([])
      redis.disconnect()
      await store.close()
    })

    it('keeps every key of a shard in one Cluster hash slot', async () => {
      const store = open()
      for (let i = 0; i < 64; i++) await store.set(makeEntry(`slot:${i}{x}`, { tags: [`tag{${i}}`] }))
      const redis = new Redis(server.url)
      const keys = await redis.keys(`${store.connection.namespace}:*`)
      const tags = new Set(keys.map((key) => /\{([^}]*)\}/.exec(key)![1]))
      // One hash tag per shard, whatever braces the cache keys and tags contain.
      expect(tags.size).toBeLessThanOrEqual(SHARDS)
      redis.disconnect()
      await store.close()
    })

    it('evicts the least recently used entries beyond maxSize, per shard', async () => {
      // 16 shards × 64 KB: 1 MB in all.
      const store = open(undefined, '1MB')
      const value = Buffer.alloc(10_000, 1)
      await store.set(makeEntry('keep', { value }))
      for (let i = 0; i < 400; i++) {
        await store.set(makeEntry(`junk:${i}`, { value }))
        if (i % 10 === 0) await store.get('keep')
      }
      const { bytes, entries } = await store.stats()
      expect(bytes).toBeLessThanOrEqual(1_000_000)
      expect(entries).toBeLessThan(110)
      expect(await store.get('keep')).toBeDefined()
      expect(await store.get('junk:0')).toBeUndefined()
      expect(await store.get('junk:399')).toBeDefined()
      await store.close()
    })

    it('soft purges end freshness at the earlier of the caller’s now and the server’s', async () => {
      const store = open()
      const now = Date.now()
      await store.set(makeEntry('k', { freshUntil: now + 60_000 }, now))
      // A caller whose clock runs an hour ahead cannot keep the entry fresh for an hour.
      const ahead = now + 3_600_000
      expect(await store.invalidate({ key: 'k' }, { soft: true, now: ahead })).toBe(1)
      const entry = await store.get('k', now)
      expect(entry!.freshUntil).toBeLessThanOrEqual(Date.now())
      expect(entry!.freshUntil).toBeGreaterThanOrEqual(now - 1000)
      await store.close()
    })

    it('purges a prefix of thousands of entries in batches', async () => {
      const store = open()
      const entries = Array.from({ length: 3000 }, (_, i) => makeEntry(`/teams/${i}`))
      const pipeline = []
      for (const entry of entries) pipeline.push(store.set(entry))
      await Promise.all(pipeline)
      expect(await store.invalidate({ prefix: '/teams/' }, { soft: true, now: Date.now() })).toBe(3000)
      expect(await store.invalidate({ prefix: '/teams/1' }, { soft: false, now: Date.now() })).toBe(1111)
      expect((await store.stats()).entries).toBe(1889)
      await store.close()
    })

    it('redisStore({ url }, namespace) keeps deployments on one server apart', async () => {
      const a = redisStore({ url: server.url }, 'app-a')
      const b = redisStore({ url: server.url }, 'app-b')
      await a.set(makeEntry('perm:1'))
      expect(await b.get('perm:1')).toBeUndefined()
      expect(await a.get('perm:1')).toBeDefined()
      await a.invalidate({ prefix: '' }, { soft: false, now: Date.now() })
      await Promise.all([a.close(), b.close()])
    })

    it('redisStore({ client }) uses the caller’s client and leaves it open', async () => {
      const client = new Redis(server.url)
      const store = redisStore({ client }, `own${randomUUID().slice(0, 6)}`)
      await store.set(makeEntry('k'))
      expect(await store.get('k')).toBeDefined()
      await store.close()
      expect(await client.ping()).toBe('PONG')
      client.disconnect()
    })
  })
})
