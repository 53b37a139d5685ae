import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, redisStore } from '../../src/index.js'
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
    const [one, two] = [0, 1].map(() =>
      createCache<{ allowed: boolean }>({
        store: redisStore({ url: server.url }, namespace),
        defaults: { ttl: '5m' },
        now,
      }),
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
