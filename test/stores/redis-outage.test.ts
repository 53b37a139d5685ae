import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Cistern, startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { createCisternLogger } from '../../src/log/index.js'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { RedisEntryStore } from '../../src/stores/redis/store.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'

const bin = findService('redis-server')

/** Deadline of a client request in this test: store timeout (200 ms) + upstream call, with room. */
const DEADLINE_MS = 1500

/**
 * Redis frozen (SIGSTOP: the socket stays open, nothing answers) and then killed, while clients keep
 * asking: every request is answered from the memory tier or the upstream within its deadline, none
 * with a 5xx caused by the store, and cistern uses Redis again by itself once it is back.
 */
describe.skipIf(!bin)('redis outage under load', () => {
  let redis: ServiceHandle
  let origin: Server
  let cistern: Cistern
  let upstreamCalls = 0

  beforeAll(async () => {
    redis = await startRedis(bin!)
    origin = createServer((req, res) => {
      upstreamCalls++
      setTimeout(() => {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ path: req.url }))
      }, 5)
    })
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
    const yaml = `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
store: { kind: redis, url: "${redis.url}", namespace: outage, timeout: 200ms }
upstreams:
  origin:
    url: http://127.0.0.1:${(origin.address() as AddressInfo).port}
    timeout: 1s
routes:
  - path: /items/:id
    upstream: origin
    ttl: 10m
`
    const config = parseConfig(yaml, '/tmp/cistern-outage.yaml', {})
    cistern = await startCistern(config, {
      logger: createCisternLogger(config, { level: 'silent' }),
      admin: false,
    })
  }, 30_000)

  afterAll(async () => {
    await cistern?.close(0)
    await redis?.stop()
    await new Promise((resolve) => origin?.close(resolve))
  })

  it('answers every request within its deadline, no 5xx, and recovers by itself', async () => {
    // Warm: 20 keys in the memory tier and in Redis.
    for (let i = 0; i < 20; i++) expect((await fetch(`${cistern.url}/items/${i}`)).status).toBe(200)

    const results: { status: number; ms: number; phase: string }[] = []
    let phase = 'up'
    let stop = false
    let next = 0
    // 8 clients, each one request at a time: warm keys (memory hits) and new keys (upstream, store write).
    const client = async () => {
      for (let n = 0; n < 10_000 && !stop; n++) {
        const id = n % 2 === 0 ? n % 20 : 1000 + next++
        const started = performance.now()
        const response = await fetch(`${cistern.url}/items/${id}`, { signal: AbortSignal.timeout(5000) })
        await response.arrayBuffer()
        results.push({ status: response.status, ms: performance.now() - started, phase })
      }
    }
    const clients = Array.from({ length: 8 }, client)
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
    await sleep(300)
    phase = 'frozen'
    redis.freeze()
    await sleep(1500)
    redis.thaw()
    phase = 'thawed'
    await sleep(500)
    phase = 'killed'
    await redis.kill()
    await sleep(1000)
    await redis.restart()
    phase = 'restarted'
    await sleep(1500)
    stop = true
    await Promise.all(clients)

    for (const name of ['up', 'frozen', 'killed', 'restarted']) {
      expect(results.filter((r) => r.phase === name).length, `requests while ${name}`).toBeGreaterThan(5)
    }
    const failed = results.filter((r) => r.status >= 500)
    expect(failed, 'no 5xx').toEqual([])
    const slowest = Math.max(...results.map((r) => r.ms))
    expect(slowest, 'slowest request (ms)').toBeLessThan(DEADLINE_MS)

    // Redis is used again without help: a key fetched now is found in Redis by another reader.
    const reader = new RedisEntryStore({
      connection: new RedisConnection({ url: redis.url, namespace: 'outage' }),
      ownsConnection: true,
    })
    await vi.waitFor(
      async () => {
        const id = `after-${Date.now()}`
        expect((await fetch(`${cistern.url}/items/${id}`)).status).toBe(200)
        expect(await reader.get(`/items/${id}`)).toBeDefined()
      },
      { timeout: 5000, interval: 100 },
    )
    await reader.close()
    expect(upstreamCalls).toBeGreaterThan(20)
  }, 30_000)
})
