import { afterEach, describe, expect, it } from 'vitest'
import type { Lease } from '../../src/stores/coordination.js'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { createRedisLeases, leaseKey, type RedisLeases } from '../../src/stores/redis/leases.js'
import { RedisEntryStore } from '../../src/stores/redis/store.js'
import { StoreError } from '../../src/util/errors.js'
import { findService, startRedis } from '../support/services.js'
import { makeEntry } from './contract/support.js'
import { connected, redisFixture } from './redis-helpers.js'

const bin = findService('redis-server')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!bin)('Redis leases', () => {
  const redis = redisFixture(bin!)
  const opened: RedisLeases[] = []
  let namespace = 0

  // Before the fixture closes the connections these sit on.
  afterEach(async () => {
    for (const leases of opened.splice(0)) await leases.close()
  })

  /** `count` instances on one fresh namespace, each with its own connection (as separate processes). */
  async function instances(count: number) {
    const ns = `leases${++namespace}`
    const made: { leases: RedisLeases; connection: RedisConnection }[] = []
    for (let i = 0; i < count; i++) {
      const connection = await redis.connect(ns)
      const leases = createRedisLeases(connection, `instance-${i}`)
      opened.push(leases)
      made.push({ leases, connection })
    }
    return made
  }

  it('grants a key to one caller among many instances, with a fence that grows with each lease', async () => {
    const made = await instances(3)
    const attempts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => made[i % 3]!.leases.acquire('/one', 5000)),
    )
    const granted = attempts.filter((lease): lease is Lease => lease !== undefined)
    expect(granted).toHaveLength(1)
    const first = granted[0]!
    expect(first.signal.aborted).toBe(false)
    // Another key is independent.
    const other = await made[1]!.leases.acquire('/two', 5000)
    expect(other).toBeDefined()
    await first.release()
    expect(first.signal.aborted).toBe(true)
    const next = await made[2]!.leases.acquire('/one', 5000)
    expect(next!.fence).toBeGreaterThan(first.fence)
    await other!.release()
    await next!.release()
  })

  it('renews a lease while it is held, long past its ttl', async () => {
    const [a, b] = await instances(2)
    const lease = await a!.leases.acquire('/held', 300)
    expect(lease).toBeDefined()
    await sleep(1000)
    expect(lease!.signal.aborted).toBe(false)
    expect(await b!.leases.acquire('/held', 300)).toBeUndefined()
    await lease!.release()
    expect(await b!.leases.acquire('/held', 300)).toBeDefined()
  })

  it('wakes a waiter on another instance as soon as the holder releases', async () => {
    const [a, b] = await instances(2)
    const lease = await a!.leases.acquire('/wake', 10_000)
    const waiting = b!.leases.waitFor('/wake', 5000)
    await sleep(100)
    const released = performance.now()
    await lease!.release()
    expect(await waiting).toBe(true)
    // A notice, not a poll: the lease would have had 10 s left.
    expect(performance.now() - released).toBeLessThan(200)
  })

  it('answers false when the wait times out while the holder keeps the lease', async () => {
    const [a, b] = await instances(2)
    const lease = await a!.leases.acquire('/slow', 5000)
    const started = performance.now()
    expect(await b!.leases.waitFor('/slow', 300)).toBe(false)
    const took = performance.now() - started
    expect(took).toBeGreaterThanOrEqual(290)
    expect(took).toBeLessThan(1000)
    await lease!.release()
    // Not held: at once.
    expect(await b!.leases.waitFor('/slow', 5000)).toBe(true)
  })

  it('lets a dead holder’s lease expire: waiters wake within its ttl, the next holder gets a newer fence', async () => {
    const [a, b] = await instances(2)
    const lease = await a!.leases.acquire('/dead', 600)
    const waiting = b!.leases.waitFor('/dead', 5000)
    const died = performance.now()
    // The holder's process is gone: nothing renews, nothing releases.
    a!.connection.client.disconnect()
    expect(await waiting).toBe(true)
    const waited = performance.now() - died
    expect(waited).toBeLessThan(600 + 300)
    // The holder learns it lost the lease within its ttl, from its own clock.
    await sleep(50)
    expect(lease!.signal.aborted).toBe(true)
    const next = await b!.leases.acquire('/dead', 600)
    expect(next!.fence).toBeGreaterThan(lease!.fence)
    await next!.release()
  })

  it('aborts a holder whose lease was taken over, and its release leaves the new holder’s lease alone', async () => {
    const [a, b, admin] = await instances(3)
    const lease = await a!.leases.acquire('/taken', 300)
    // The lease vanishes under its holder (a failover to a replica that never saw it, an operator).
    await admin!.connection.client.del(leaseKey(admin!.connection, '/taken'))
    const usurper = await b!.leases.acquire('/taken', 5000)
    expect(usurper).toBeDefined()
    const deadline = Date.now() + 2000
    while (!lease!.signal.aborted && Date.now() < deadline) await sleep(10)
    expect(lease!.signal.aborted).toBe(true)
    expect(String(lease!.signal.reason)).toMatch(/lost: taken over/)
    await lease!.release()
    // Compare-and-delete: the old holder's release did not free the new holder's lease.
    expect(await a!.leases.acquire('/taken', 300)).toBeUndefined()
    expect(usurper!.fence).toBeGreaterThan(lease!.fence)
    await usurper!.release()
  })

  it('fences store writes: a late write under a lost lease loses to the next holder’s and to any later write', async () => {
    const [a, b] = await instances(2)
    const store = new RedisEntryStore({ connection: a!.connection })
    const value = (text: string) => Buffer.from(JSON.stringify(text))
    await store.set(makeEntry('/fenced', { value: value('before') }))
    const first = await a!.leases.acquire('/fenced', 300)
    // The holder freezes past its lease; the lease goes (here: at once) and another instance takes it.
    await a!.connection.client.del(leaseKey(a!.connection, '/fenced'))
    const second = await b!.leases.acquire('/fenced', 5000)
    expect(second!.fence).toBeGreaterThan(first!.fence)
    await store.set(makeEntry('/fenced', { value: value('newer') }), { fence: second!.fence })
    // The first holder wakes and writes what it fetched: dropped.
    await store.set(makeEntry('/fenced', { value: value('late') }), { fence: first!.fence })
    expect((await store.get('/fenced'))!.value.toString()).toBe('"newer"')
    await second!.release()

    // A write without a lease after a lease was taken (cache.set) also beats the holder's later write.
    const third = await a!.leases.acquire('/fenced', 5000)
    expect(third!.fence).toBeGreaterThan(second!.fence)
    await store.set(makeEntry('/fenced', { value: value('set') }))
    await store.set(makeEntry('/fenced', { value: value('fetched') }), { fence: third!.fence })
    expect((await store.get('/fenced'))!.value.toString()).toBe('"set"')
    await third!.release()
    // And the next lease's write goes through again.
    const fourth = await b!.leases.acquire('/fenced', 5000)
    await store.set(makeEntry('/fenced', { value: value('latest') }), { fence: fourth!.fence })
    expect((await store.get('/fenced'))!.value.toString()).toBe('"latest"')
    await fourth!.release()
    await store.close()
  })

  it('a waiter gives up within about a deadline when Redis freezes while it waits, not after the lease', async () => {
    // A server of its own: frozen here, it must not stall the other tests' fixture.
    const server = await startRedis(bin!)
    const [a, b] = [await connected(server.url, 'frozen', 200), await connected(server.url, 'frozen', 200)]
    const holder = createRedisLeases(a, 'holder')
    const waiter = createRedisLeases(b, 'waiter')
    try {
      const lease = await holder.acquire('/frozen', 10_000)
      const waiting = waiter.waitFor('/frozen', 5000).then(
        (released) => ({ released, error: undefined }),
        (error: unknown) => ({ released: undefined, error }),
      )
      await sleep(100)
      server.freeze()
      const started = performance.now()
      const outcome = await waiting
      // Within the next look at the lease (a second at most) and that look's deadline (200 ms).
      expect(performance.now() - started).toBeLessThan(1000 + 200 + 400)
      expect(outcome.error).toBeInstanceOf(StoreError)
      server.thaw()
      await lease!.release()
    } finally {
      server.thaw()
      await holder.close()
      await waiter.close()
      await a.close()
      await b.close()
      await server.stop()
    }
  })

  it('fails fast with a StoreError when the server is gone', async () => {
    const connection = new RedisConnection({ url: 'redis://127.0.0.1:1', timeoutMs: 200 })
    const leases = createRedisLeases(connection, 'lonely')
    const started = performance.now()
    await expect(leases.acquire('/x', 1000)).rejects.toThrow(/redis store: acquire lease failed/)
    expect(performance.now() - started).toBeLessThan(1000)
    await leases.close()
    await connection.close()
  })
})
