import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Cistern, startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { createCisternLogger } from '../../src/log/index.js'
import type { ChangeEvent } from '../../src/refresh/index.js'
import { createRedisChangeLog } from '../../src/stores/redis/change-log.js'
import type { RedisConnection } from '../../src/stores/redis/connection.js'
import { createRedisRefreshClaims } from '../../src/stores/redis/refresh-claims.js'
import { startVersionedOrigin, type VersionedOrigin } from '../cluster/versioned-origin.js'
import { until } from '../refresh/helpers.js'
import { type Receiver, startReceiver } from '../refresh/receiver.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'
import { connected } from './redis-helpers.js'

const bin = findService('redis-server')

const yaml = `
store: { kind: memory }
upstreams:
  origin: { url: "\${ORIGIN}" }
routes:
  - name: items
    path: /items/:id
    ttl: 1h
    refresh: { every: 400ms, while: always }
notify:
  - url: \${HOOK}/discord
    kind: discord
`

/**
 * Several cistern instances in one process, each with its own memory store and its own Redis
 * connection to one namespace: the refresh path's share of a Coordination (claims, change log).
 */
describe.skipIf(!bin)('refresh on a shared coordination (in process)', () => {
  let server: ServiceHandle
  let origin: VersionedOrigin
  let receiver: Receiver
  const connections: RedisConnection[] = []
  const cisterns: Cistern[] = []
  beforeAll(async () => {
    server = await startRedis(bin!)
  })
  afterAll(() => server?.stop())
  afterEach(async () => {
    await Promise.all(cisterns.splice(0).map((c) => c.close(500)))
    await Promise.all(connections.splice(0).map((c) => c.close()))
    await origin?.close()
    await receiver?.close()
  })

  async function start(n: number, redisUrl = server.url): Promise<Cistern[]> {
    origin = await startVersionedOrigin()
    receiver = await startReceiver()
    const namespace = `r${randomUUID().slice(0, 8)}`
    for (let i = 0; i < n; i++) {
      const connection = await connected(redisUrl, namespace)
      connections.push(connection)
      const config = parseConfig(yaml, 'cistern.yaml', { ORIGIN: origin.url, HOOK: receiver.url })
      const instance = `instance-${i}`
      const cistern = await startCistern(
        { ...config, listen: { ...config.listen, port: 0 } },
        {
          admin: false,
          logger: createCisternLogger(config, { level: 'silent' }),
          refresh: {
            coordination: {
              refreshClaims: createRedisRefreshClaims(connection, instance),
              changes: createRedisChangeLog(connection, instance),
              healthy: () => connection.healthy(),
            },
          },
        },
      )
      cisterns.push(cistern)
    }
    return cisterns
  }

  it('each due refresh runs once across the instances, each change is one event with one id everywhere', async () => {
    const instances = await start(3)
    const heard = instances.map(() => [] as ChangeEvent[])
    for (const [i, c] of instances.entries()) c.refresh.feed.subscribe((event) => heard[i]!.push(event))
    // Every instance reads the key (three misses: the instances do not share a cache here), so each
    // keeps it warm on its own schedule.
    for (const c of instances) expect((await fetch(`${c.url}/items/1`)).status).toBe(200)
    await until(() => (instances.every((c) => c.refresh.scheduler.snapshot().keys === 1) ? true : undefined))
    const before = origin.callsOf('/items/1').length
    const started = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const refreshes = origin.callsOf('/items/1').slice(before)
    const periods = (Date.now() - started) / 400
    // Once per period across the three (not three times); a little slack for timer jitter.
    expect(refreshes.length).toBeGreaterThanOrEqual(Math.floor(periods) - 2)
    expect(refreshes.length).toBeLessThanOrEqual(Math.ceil(periods) + 1)
    for (let i = 1; i < refreshes.length; i++) {
      expect(refreshes[i]!.at - refreshes[i - 1]!.at).toBeGreaterThan(250)
    }
    expect(heard.flat()).toEqual([])

    // A new version upstream: one change, detected by whichever instance refreshes next, heard by all.
    origin.version = 2
    await until(() => (heard.every((list) => list.length === 1) ? true : undefined), 3000)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    for (const list of heard) expect(list.map((e) => e.id)).toEqual([heard[0]![0]!.id])
    expect(heard[0]![0]).toMatchObject({ route: 'items', key: '/items/1' })
    // The notify target hears it once, from the instance that detected it.
    await until(() => (receiver.received.length >= 1 ? true : undefined))
    expect(receiver.received).toHaveLength(1)
  })

  it('Last-Event-ID resumes on another instance than the one that detected the change', async () => {
    const [a, b] = await start(2)
    await fetch(`${a!.url}/items/7`)
    const ids: string[] = []
    a!.refresh.feed.subscribe((event) => ids.push(event.id))
    for (let version = 2; version <= 4; version++) {
      origin.version = version
      await until(() => (ids.length === version - 1 ? true : undefined), 3000)
    }
    // A client that saw the first event reconnects to b: it gets the two after it, then live ones.
    const resumed: string[] = []
    let reset = false
    b!.refresh.feed.subscribe((event) => resumed.push(event.id), {
      lastEventId: ids[0]!,
      onReset: () => {
        reset = true
      },
    })
    await until(() => (resumed.length === 2 ? true : undefined))
    expect(resumed).toEqual(ids.slice(1))
    origin.version = 5
    await until(() => (resumed.length === 3 ? true : undefined), 3000)
    expect(resumed[2]).toBe(ids[3])
    expect(reset).toBe(false)
    // An id no instance ever had: reset, then live events.
    let told = false
    b!.refresh.feed.subscribe(() => {}, {
      lastEventId: 'evt_unknown',
      onReset: () => {
        told = true
      },
    })
    await until(() => (told ? true : undefined))
  })

  it('with Redis gone, each instance keeps refreshing and reports changes on its own feed; no hang', async () => {
    const own = await startRedis(bin!)
    try {
      const [a] = await start(1, own.url)
      const heard: ChangeEvent[] = []
      a!.refresh.feed.subscribe((event) => heard.push(event))
      await fetch(`${a!.url}/items/3`)
      await until(() => (origin.callsOf('/items/3').length >= 2 ? true : undefined), 3000)
      await own.kill()
      origin.version = 2
      await until(() => (heard.length === 1 ? true : undefined), 5000)
      expect(heard[0]).toMatchObject({ key: '/items/3' })
      // Kept warm throughout: refreshes go on once per period.
      const before = origin.callsOf('/items/3').length
      await new Promise((resolve) => setTimeout(resolve, 1200))
      expect(origin.callsOf('/items/3').length).toBeGreaterThanOrEqual(before + 2)
    } finally {
      await own.stop()
    }
  })
})
