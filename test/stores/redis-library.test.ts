import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, redisCoordination, redisStore } from '../../src/index.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'

const bin = findService('redis-server')

/**
 * guild-api's case, as a library user writes it: permission checks cached 5 minutes in Redis, shared
 * by every process of the app, and a roster sync invalidating a guild's checks by prefix.
 */
describe.skipIf(!bin)('redisStore for createCache (library users)', () => {
  let server: ServiceHandle
  beforeAll(async () => {
    server = await startRedis(bin!)
  })
  afterAll(() => server?.stop())

  it('caches permission checks for 5 minutes across processes and invalidates a guild by prefix', async () => {
    const namespace = `guild-${randomUUID().slice(0, 8)}`
    let clock = Date.now()
    const now = () => clock
    // Two processes of the app: each its own cache (and memory tier), one Redis.
    const stores = [redisStore({ url: server.url }, namespace), redisStore({ url: server.url }, namespace)]
    // Connected before the first check: a busy machine can take past the one-second startup wait.
    for (const store of stores) await store.connection.ready(10_000)
    const [one, two] = stores.map((store) =>
      createCache<{ allowed: boolean }>({ store, defaults: { ttl: '5m' }, now }),
    )
    let checks = 0
    const check = (member: string) => async () => {
      checks++
      return { allowed: member !== 'banned' }
    }
    const key = (guild: string, member: string) => `perm:${guild}:${member}`

    expect((await one!.getOrSet(key('g1', 'ann'), check('ann'))).value).toEqual({ allowed: true })
    await one!.getOrSet(key('g1', 'bob'), check('bob'))
    await one!.getOrSet(key('g2', 'ann'), check('ann'))
    expect(checks).toBe(3)
    // The other process finds them in Redis: no check runs again.
    const fromRedis = await two!.getOrSet(key('g1', 'ann'), check('ann'))
    expect(fromRedis.status).toBe('hit')
    expect(checks).toBe(3)

    // Within 5 minutes a hit, after them a new check.
    clock += 4 * 60_000
    expect((await two!.getOrSet(key('g1', 'bob'), check('bob'))).status).toBe('hit')
    expect(checks).toBe(3)
    clock += 2 * 60_000
    await two!.getOrSet(key('g1', 'bob'), check('bob'))
    expect(checks).toBe(4)

    // Roster sync of g1: every check of g1 goes, g2's stay.
    await one!.getOrSet(key('g2', 'cid'), check('cid'))
    expect(checks).toBe(5)
    expect(await one!.invalidate({ prefix: 'perm:g1:' })).toBeGreaterThanOrEqual(1)
    await one!.getOrSet(key('g1', 'bob'), check('bob'))
    expect(checks).toBe(6)
    expect((await two!.getOrSet(key('g2', 'cid'), check('cid'))).status).toBe('hit')
    expect(checks).toBe(6)
    await one!.close()
    await two!.close()
  })
})

/**
 * The same two processes with the store's coordination, as README shows it: a purge on one reaches the
 * other's memory tier too, and a key both miss at once is computed once.
 */
describe.skipIf(!bin)('redisCoordination for createCache (library users)', () => {
  let server: ServiceHandle
  beforeAll(async () => {
    server = await startRedis(bin!)
  })
  afterAll(() => server?.stop())

  it('a prefix purge on one process drops the other’s memory copies; a cold key is computed once', async () => {
    const namespace = `guild-${randomUUID().slice(0, 8)}`
    const processes = await Promise.all(
      [0, 1].map(async () => {
        const store = redisStore({ url: server.url }, namespace)
        await store.connection.ready(10_000)
        const coordination = redisCoordination(store.connection)
        await coordination.start()
        const cache = createCache<{ allowed: boolean }>({ store, coordination, defaults: { ttl: '5m' } })
        return { cache, coordination }
      }),
    )
    const [one, two] = processes.map((p) => p.cache)
    let checks = 0
    const check = (member: string) => async () => {
      checks++
      await new Promise((resolve) => setTimeout(resolve, 50))
      return { allowed: member !== 'banned' }
    }

    // Both processes miss g1:ann at once: one check between them.
    const both = await Promise.all([
      one!.getOrSet('perm:g1:ann', check('ann')),
      two!.getOrSet('perm:g1:ann', check('ann')),
    ])
    expect(both.map((r) => r.value)).toEqual([{ allowed: true }, { allowed: true }])
    expect(checks).toBe(1)
    // Each holds it in memory now.
    expect((await two!.getOrSet('perm:g1:ann', check('ann'))).status).toBe('hit')

    // Roster sync on one: the other's memory copy goes too (the stream reaches it within 100 ms).
    await one!.invalidate({ prefix: 'perm:g1:' })
    const purged = performance.now()
    for (;;) {
      const answer = await two!.getOrSet('perm:g1:ann', check('ann'))
      if (answer.status !== 'hit') break
      expect(performance.now() - purged, 'two still answers the purged check from memory').toBeLessThan(100)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(checks).toBe(2)

    for (const { cache, coordination } of processes) {
      await cache.close()
      await coordination.close()
    }
  })
})
