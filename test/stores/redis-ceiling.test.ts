import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisCeiling } from '../../src/stores/redis/ceiling.js'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { RedisHeartbeat } from '../../src/stores/redis/heartbeat.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'
import { ceilingViolation } from '../upstream/ceiling.js'

const bin = findService('redis-server')

describe.skipIf(!bin)('redis shared ceiling', () => {
  let redis: ServiceHandle
  const connections: RedisConnection[] = []
  const connect = async (namespace: string) => {
    const connection = new RedisConnection({ url: redis.url, namespace, timeoutMs: 500 })
    await connection.ready()
    connections.push(connection)
    return connection
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  beforeAll(async () => {
    redis = await startRedis(bin!)
  })
  afterAll(async () => {
    for (const connection of connections) await connection.close()
    await redis?.stop()
  })

  it('grants a full bucket at once, then one permit per interval, from several connections', async () => {
    const live = { liveInstances: () => 2 }
    const a = createRedisCeiling(await connect('gcra'), 'a', live)
    const b = createRedisCeiling(await connect('gcra'), 'b', live)
    const rate = { intervalMs: 50, burst: 4, reserve: 0 }
    const granted: number[] = []
    const started = Date.now()
    // Bounded: 1.2 s of asking as fast as each answer comes back, alternating instances.
    while (Date.now() - started < 1200) {
      const results = await Promise.all([a.take('up', rate, 'foreground'), b.take('up', rate, 'foreground')])
      for (const result of results) {
        if (result.granted) granted.push(Date.now())
        else expect(result.retryInMs).toBeGreaterThan(0)
      }
    }
    // 4 at once, then 20/s over ~1.2 s.
    expect(granted.length).toBeGreaterThanOrEqual(4 + 20)
    expect(granted.length).toBeLessThanOrEqual(4 + 25)
    // Times are seen here, a round trip after the server's: one permit of slack for that jitter.
    expect(ceilingViolation(granted, [{ count: 1, perMs: 50, burst: 4 + 1 }])).toBeUndefined()
  })

  it('keeps the reserve for the foreground lane', async () => {
    const ceiling = createRedisCeiling(await connect('lanes'), 'a', { liveInstances: () => 1 })
    const rate = { intervalMs: 60_000, burst: 5, reserve: 2 }
    const background = []
    for (let i = 0; i < 5; i++) background.push((await ceiling.take('up', rate, 'background')).granted)
    expect(background).toEqual([true, true, true, false, false])
    expect(await ceiling.take('up', rate, 'foreground')).toEqual({ granted: true })
    expect(await ceiling.take('up', rate, 'foreground')).toEqual({ granted: true })
    const refused = await ceiling.take('up', rate, 'foreground')
    expect(refused.granted).toBe(false)
    // The next permit is one interval after the bucket ran dry.
    expect(refused.granted === false && refused.retryInMs).toBeGreaterThan(59_000)
  })

  it('pauses a bucket on the server clock, never shortened, seen by every instance', async () => {
    const a = createRedisCeiling(await connect('pause'), 'a', { liveInstances: () => 1 })
    const b = createRedisCeiling(await connect('pause'), 'b', { liveInstances: () => 1 })
    const rate = { intervalMs: 1, burst: 100, reserve: 0 }
    await a.pause('up', 400, 'answered 429')
    await a.pause('up', 100, 'a shorter one')
    const seen = await b.take('up', rate, 'foreground')
    expect(seen).toMatchObject({ granted: false, pausedFor: 'answered 429' })
    expect(seen.granted === false && seen.retryInMs).toBeGreaterThan(300)
    expect((await b.take('other', rate, 'foreground')).granted).toBe(true)
    await sleep(450)
    expect((await b.take('up', rate, 'foreground')).granted).toBe(true)
  })

  it('fails with a StoreError when the server is gone', async () => {
    const lone = await startRedis(bin!)
    const connection = new RedisConnection({ url: lone.url, timeoutMs: 300 })
    await connection.ready()
    const ceiling = createRedisCeiling(connection, 'a', { liveInstances: () => 1 })
    expect((await ceiling.take('up', { intervalMs: 10, burst: 1, reserve: 0 }, 'foreground')).granted).toBe(
      true,
    )
    lone.freeze()
    const started = Date.now()
    await expect(
      ceiling.take('up', { intervalMs: 10, burst: 1, reserve: 0 }, 'foreground'),
    ).rejects.toMatchObject({
      name: 'StoreError',
    })
    expect(Date.now() - started).toBeLessThan(1000)
    await lone.stop()
    await expect(ceiling.pause('up', 100, 'x')).rejects.toMatchObject({ name: 'StoreError' })
    await connection.close()
  })

  it('counts live instances with the heartbeat, keeping the last count while unreachable', async () => {
    const lone = await startRedis(bin!)
    const connection = new RedisConnection({ url: lone.url, timeoutMs: 300 })
    await connection.ready()
    const beats = ['a', 'b', 'c'].map((id) => new RedisHeartbeat(connection, id))
    for (const beat of beats) await beat.start()
    await beats[0]!.beat()
    const ceiling = createRedisCeiling(connection, 'a', beats[0])
    expect(ceiling.liveInstances()).toBe(3)
    await beats[2]!.close()
    await beats[0]!.beat()
    expect(ceiling.liveInstances()).toBe(2)
    await lone.kill()
    await beats[0]!.beat()
    expect(ceiling.liveInstances()).toBe(2)
    for (const beat of beats) await beat.close()
    await connection.close()
    await lone.stop()
  })
})
