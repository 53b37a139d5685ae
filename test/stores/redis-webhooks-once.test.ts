import { createHmac } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createRedisOnce } from '../../src/stores/redis/once.js'
import type { Invalidator } from '../../src/webhooks/actions.js'
import { createWebhooks, type Webhooks } from '../../src/webhooks/index.js'
import { findService } from '../support/services.js'
import { captureLogger, config, hook, recordingCache } from '../webhooks/helpers.js'
import { redisFixture } from './redis-helpers.js'

const bin = findService('redis-server')

const yaml = `
store: { kind: memory }
webhooks:
  - name: scores
    path: /hooks/scores
    verify: { scheme: hmac-sha256, header: X-Sig, secret: hook-secret }
    on:
      - invalidate: ["event:{body.event}"]
`

describe.skipIf(!bin)('webhooks on a shared once registry', () => {
  const redis = redisFixture(bin!)
  const started: Webhooks[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.close()))
  })

  it('a delivery received by two instances is acted on by one; the other records a duplicate and answers 2xx', async () => {
    const cfg = config(yaml)
    const cache = recordingCache()
    const instances = await redis.instances(2, async (connection, name) => {
      const webhooks = createWebhooks(cfg, {
        cache,
        logger: captureLogger(),
        coordination: { once: createRedisOnce(connection, name) },
      })
      started.push(webhooks)
      await webhooks.start()
      return webhooks
    })
    const deliver = (webhooks: Webhooks, event: string) => {
      const body = Buffer.from(JSON.stringify({ event }))
      const sig = createHmac('sha256', 'hook-secret').update(body).digest('hex')
      return webhooks.receive(hook(cfg, 'scores'), body, { 'x-sig': sig })
    }
    // The same delivery to both (a retry landing on the other target), a different one to the second.
    const replies = [deliver(instances[0]!, 'e1'), deliver(instances[1]!, 'e1'), deliver(instances[1]!, 'e2')]
    for (const reply of replies) expect(reply.status).toBe(200)
    await Promise.all(instances.map((w) => w.idle()))
    expect(cache.calls.map((call) => call.selector)).toEqual(
      expect.arrayContaining([{ tags: ['event:e1'] }, { tags: ['event:e2'] }]),
    )
    expect(cache.calls).toHaveLength(2)
    const outcomes = (
      await Promise.all(instances.map(async (w) => (await w.events.list()).events.map((e) => e.outcome)))
    ).flat()
    expect(outcomes.sort()).toEqual(['acted', 'acted', 'duplicate'])
    const duplicates = instances.map((w) => w.counters.get('scores', 'duplicate'))
    expect(duplicates.reduce((a, b) => a + b)).toBe(1)
  })

  it('a delivery whose claim was won before a stop cut its actions off is acted on at the restart, and is still a duplicate elsewhere', async () => {
    const dirs = [
      await mkdtemp(join(tmpdir(), 'cistern-once-a-')),
      await mkdtemp(join(tmpdir(), 'cistern-once-b-')),
    ]
    try {
      // Each instance has its own event log (a SQLite file next to its cache), one Redis between them.
      const configFor = (dir: string) =>
        config(
          yaml.replace('store: { kind: memory }', `store: { kind: sqlite, path: ${join(dir, 'cache.db')} }`),
        )
      const namespace = redis.namespace()
      const instance = async (dir: string, cache: Invalidator) => {
        const webhooks = createWebhooks(configFor(dir), {
          cache,
          logger: captureLogger(),
          coordination: {
            once: createRedisOnce(await redis.connect(namespace), `instance-${started.length}`),
          },
        })
        started.push(webhooks)
        await webhooks.start()
        return webhooks
      }
      const deliver = (webhooks: Webhooks, dir: string) => {
        const body = Buffer.from(JSON.stringify({ event: 'e1' }))
        const sig = createHmac('sha256', 'hook-secret').update(body).digest('hex')
        return webhooks.receive(hook(configFor(dir), 'scores'), body, { 'x-sig': sig })
      }

      // The first run wins the claim and starts its action, which never finishes: the process is
      // stopped (drain's grace runs out) with the event still pending in its log.
      let stuckCalls = 0
      const crashed = await instance(dirs[0]!, {
        invalidate: () => {
          stuckCalls++
          return new Promise<number>(() => {})
        },
      })
      const reply = deliver(crashed, dirs[0]!)
      expect(reply.status).toBe(200)
      await expect.poll(() => stuckCalls).toBe(1)
      await crashed.close(1)
      const id = (reply.body as { id: number }).id

      // The restart, on the same log and the same Redis (a new connection, a new instance id).
      const cache = recordingCache()
      const restarted = await instance(dirs[0]!, cache)
      await restarted.idle()
      expect(cache.calls).toEqual([{ selector: { tags: ['event:e1'] }, soft: false }])
      expect((await restarted.events.get(id))?.outcome).toBe('acted')
      expect(restarted.counters.get('scores', 'duplicate')).toBe(0)

      // Another instance given the same delivery (a retry to the other target) still leaves it alone.
      const otherCache = recordingCache()
      const other = await instance(dirs[1]!, otherCache)
      expect(deliver(other, dirs[1]!).status).toBe(200)
      await other.idle()
      expect(otherCache.calls).toEqual([])
      expect((await other.events.list()).events.map((e) => e.outcome)).toEqual(['duplicate'])
    } finally {
      await Promise.all(started.splice(0).map((w) => w.close()))
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
    }
  })
})
