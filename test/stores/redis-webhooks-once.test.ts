import { createHmac } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createRedisOnce } from '../../src/stores/redis/once.js'
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
})
