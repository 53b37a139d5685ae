import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Instance, startCluster } from '../support/cluster.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'

const bin = findService('redis-server')

/**
 * Three `cistern serve` processes on one Redis (`store: { kind: redis }`) are one cache: what one
 * fetched, the others serve from Redis without asking the upstream.
 */
describe.skipIf(!bin)('cluster on redis: shared entries', () => {
  let redis: ServiceHandle
  let origin: Server
  let cluster: Awaited<ReturnType<typeof startCluster>>
  const calls: string[] = []

  beforeAll(async () => {
    redis = await startRedis(bin!)
    origin = createServer((req, res) => {
      calls.push(req.url ?? '')
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ path: req.url, served: calls.length }))
    })
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
    const port = (origin.address() as AddressInfo).port
    cluster = await startCluster(3, {
      config: () => `store: { kind: redis, url: "${redis.url}", namespace: basics }
upstreams:
  origin:
    url: http://127.0.0.1:${port}
routes:
  - path: /items/:id
    upstream: origin
    ttl: 10m
`,
    })
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
    await redis?.stop()
    await new Promise((resolve) => origin?.close(resolve))
  })

  const get = async (instance: Instance, path: string) => {
    const response = await fetch(`${instance.url}${path}`)
    return {
      status: response.status,
      cache: response.headers.get('x-cache-status'),
      body: await response.text(),
    }
  }

  it('a value fetched through instance 0 is a hit on instances 1 and 2, with no upstream call', async () => {
    const [zero, one, two] = cluster.instances as [Instance, Instance, Instance]
    const first = await get(zero, '/items/42')
    expect(first.status).toBe(200)
    expect(calls).toEqual(['/items/42'])
    for (const instance of [one, two]) {
      const again = await get(instance, '/items/42')
      expect(again, instance.output()).toMatchObject({ status: 200, cache: 'HIT', body: first.body })
    }
    expect(calls).toHaveLength(1)
  })

  it('an admin purge on one instance reaches Redis: the next read anywhere goes upstream', async () => {
    const [zero, one] = cluster.instances as [Instance, Instance, Instance]
    await get(zero, '/items/7')
    expect(calls.filter((path) => path === '/items/7')).toHaveLength(1)
    const purge = await one.admin(`/entries?key=${encodeURIComponent('/items/7')}`, { method: 'DELETE' })
    expect(await purge.json()).toMatchObject({ count: 1 })
    // Instance 2 never held it in memory: it reads Redis, which no longer has it.
    const [, , two] = cluster.instances as [Instance, Instance, Instance]
    const after = await get(two, '/items/7')
    expect(after.status).toBe(200)
    expect(calls.filter((path) => path === '/items/7')).toHaveLength(2)
  })
})
