import { createHmac, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSse, type SseClient } from '../refresh/sse-client.js'
import { CLUSTER_ADMIN_TOKEN, type Instance, startCluster } from '../support/cluster.js'
import type { ServiceHandle } from '../support/services.js'
import { STORES, type StoreKind, startStoreServer, storeConfig } from './helpers.js'
import { ownerOfPort } from './processes.js'
import { startVersionedOrigin, type VersionedOrigin } from './versioned-origin.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(20)
  }
}

const config = (kind: StoreKind, storeUrl: string, originUrl: string) => `
${storeConfig(kind, storeUrl)}
log: { level: warn }
upstreams:
  origin: { url: "${originUrl}" }
routes:
  - name: items
    path: /items/:id
    ttl: 1h
    refresh: { every: 1s, while: always }
webhooks:
  - name: scores
    path: /hooks/scores
    verify: { scheme: hmac-sha256, header: X-Sig, secret: hook-secret }
    on:
      - invalidate: ["event:{body.event}"]
`

/** The admin change stream of an instance (GET /changes), optionally resuming after an id. */
const changesOf = (instance: Instance, lastEventId?: string): Promise<SseClient> =>
  openSse(`${instance.adminUrl}/changes`, {
    authorization: `Bearer ${CLUSTER_ADMIN_TOKEN}`,
    ...(lastEventId && { 'last-event-id': lastEventId }),
  })

/**
 * Three `cistern serve` processes on one Redis, or on one Postgres and no Redis (issues 14 and 15):
 * each due refresh runs once, each change event has one id on every instance (Last-Event-ID works on
 * any of them), a refresh whose worker is killed mid-job is completed once by another, a webhook
 * delivered twice acted on once.
 */
for (const store of STORES) {
  describe.skipIf(store.skip !== undefined)(
    `cluster: refresh schedule, change feed and webhooks shared on ${store.kind}`,
    () => {
      let server: ServiceHandle
      let origin: VersionedOrigin
      let cluster: Awaited<ReturnType<typeof startCluster>>
      let instances: Instance[]
      const streams: SseClient[] = []

      beforeAll(async () => {
        server = await startStoreServer(store)
        origin = await startVersionedOrigin()
        cluster = await startCluster(3, { config: () => config(store.kind, server.url, origin.url) })
        instances = cluster.instances
        // Without all six coordination parts, instances share only the entries: say so, not a count.
        const missing = /coordination parts not in this build: [^"]*/.exec(instances[0]!.output())
        if (missing) throw new Error(`kind ${store.kind} runs without its coordination (${missing[0]})`)
      }, 60_000)

      afterAll(async () => {
        for (const stream of streams) stream.close()
        await cluster?.stop()
        await origin?.close()
        await server?.stop()
      }, 30_000)

      const open = async (instance: Instance, lastEventId?: string) => {
        const stream = await changesOf(instance, lastEventId)
        expect(stream.status, instance.output()).toBe(200)
        streams.push(stream)
        return stream
      }

      it('each due refresh runs once across the three, and each change is one event with the same id on all', async () => {
        const feeds = await Promise.all(instances.map((instance) => open(instance)))
        // Every instance reads the key, so each keeps it warm on its own schedule.
        for (const instance of instances) expect((await fetch(`${instance.url}/items/1`)).status).toBe(200)
        await sleep(1500)
        const before = origin.callsOf('/items/1').length
        const started = Date.now()
        await sleep(6000)
        const refreshes = origin.callsOf('/items/1').slice(before)
        const periods = (Date.now() - started) / 1000
        // One call per period between the three, not three (a little slack for timers on a busy machine).
        expect(refreshes.length).toBeGreaterThanOrEqual(Math.floor(periods) - 2)
        expect(refreshes.length).toBeLessThanOrEqual(Math.ceil(periods) + 1)
        for (let i = 1; i < refreshes.length; i++)
          expect(refreshes[i]!.at - refreshes[i - 1]!.at).toBeGreaterThan(600)
        expect(feeds.map((feed) => feed.events.length)).toEqual([0, 0, 0])

        // A new version: one change, detected by whichever instance refreshes next, the same id on each.
        origin.version++
        await Promise.all(feeds.map((feed) => feed.waitFor(1, 5000)))
        await sleep(2500)
        const ids = feeds.map((feed) => feed.events.map((event) => event.id))
        expect(ids[0]).toHaveLength(1)
        expect(ids).toEqual([ids[0], ids[0], ids[0]])
        expect(feeds[0]!.events[0]!.data).toMatchObject({ route: 'items', key: '/items/1' })
      }, 30_000)

      it('Last-Event-ID from one instance resumes on another', async () => {
        const first = await open(instances[0]!)
        for (let n = 1; n <= 3; n++) {
          origin.version++
          await first.waitFor(n, 5000)
        }
        const ids = first.events.map((event) => event.id)
        // The client saw the first of the three on instance 0 and reconnects to instance 2.
        const resumed = await open(instances[2]!, ids[0])
        await resumed.waitFor(2, 5000)
        expect(resumed.events.map((event) => event.id)).toEqual(ids.slice(1))
        expect(resumed.all.some((event) => event.type === 'reset')).toBe(false)
        // An id no instance has: a reset, then the stream from now on.
        const unknown = await open(instances[1]!, 'evt_not_one_of_ours')
        await unknown.waitForText((text) => text.includes('event: reset'), 5000)
      }, 30_000)

      it('a refresh worker killed mid-job: another instance completes the refresh, once', async () => {
        const feeds = await Promise.all(instances.map((instance) => open(instance)))
        origin.hold = true
        origin.version++
        const before = origin.callsOf('/items/1').length
        // The next refresh reaches the origin and is held there: find the process that made it.
        const held = await until(
          () => origin.callsOf('/items/1')[before],
          5000,
          'a refresh reaching the origin',
        )
        const worker = ownerOfPort(held.port, instances)
        expect(worker, 'the held call comes from one of the instances').toBeDefined()
        await worker!.kill()
        origin.release()
        const survivors = instances.filter((instance) => instance !== worker)
        const survivorFeeds = survivors.map((instance) => feeds[instances.indexOf(instance)]!)
        // Its lease (5 s) runs out and another instance refreshes the key and reports the change.
        await Promise.all(survivorFeeds.map((feed) => feed.waitFor(1, 12_000)))
        await sleep(2500)
        const ids = survivorFeeds.map((feed) => feed.events.map((event) => event.id))
        expect(ids[0]).toHaveLength(1)
        expect(ids[1]).toEqual(ids[0])
        // The killed worker never published it.
        expect(feeds[instances.indexOf(worker!)]!.events).toEqual([])
        const after = origin.callsOf('/items/1').slice(before)
        const taken = after.find((call) => call !== held)
        expect(taken && ownerOfPort(taken.port, instances)).not.toBe(worker)
      }, 30_000)

      it('a webhook delivered to two instances is acted on once', async () => {
        const alive = instances.filter(
          (instance) => instance.process.exitCode === null && instance.process.signalCode === null,
        )
        expect(alive.length).toBeGreaterThanOrEqual(2)
        const body = JSON.stringify({ event: `e-${randomUUID()}` })
        const sig = createHmac('sha256', 'hook-secret').update(body).digest('hex')
        const post = (instance: Instance) =>
          fetch(`${instance.url}/hooks/scores`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-sig': sig },
            body,
          })
        const replies = await Promise.all(alive.slice(0, 2).map(post))
        for (const reply of replies) expect(reply.status).toBe(200)
        const outcomes = async () =>
          (
            await Promise.all(
              alive.slice(0, 2).map(async (instance) => {
                const page = (await (await instance.admin('/events?webhook=scores')).json()) as {
                  events: { outcome: string }[]
                }
                return page.events.map((event) => event.outcome)
              }),
            )
          ).flat()
        const deadline = Date.now() + 5000
        let seen: string[] = []
        while (Date.now() < deadline) {
          seen = await outcomes()
          if (!seen.includes('pending') && seen.length === 2) break
          await sleep(50)
        }
        expect(seen.sort()).toEqual(['acted', 'duplicate'])
      }, 30_000)
    },
  )
}
