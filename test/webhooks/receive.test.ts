import { sign as octokitSign } from '@octokit/webhooks-methods'
import { Webhook } from 'standardwebhooks'
import Stripe from 'stripe'
import { afterEach, describe, expect, it } from 'vitest'
import { createWebhooks, type HeaderMap, type Webhooks } from '../../src/webhooks/index.js'
import {
  captureLogger,
  config,
  HOOKS_ENV,
  HOOKS_YAML,
  hook,
  recordingCache,
  recordingRefresher,
  STRIPE_SECRETS,
  SW_SECRETS,
  TBA_SECRET,
} from './helpers.js'

const cfg = config(HOOKS_YAML, HOOKS_ENV)
const stripe = new Stripe('sk_test_not_used')

function setup(start = Date.now()) {
  let now = start
  const cache = recordingCache()
  const refresher = recordingRefresher()
  const logger = captureLogger()
  const webhooks = createWebhooks(cfg, { cache, refresher, logger, now: () => now })
  // start() only resumes stored events and starts pruning: nothing to wait for on an empty log.
  void webhooks.start()
  return {
    webhooks,
    cache,
    refresher,
    logger,
    advance: (ms: number) => {
      now += ms
    },
    now: () => now,
  }
}

async function tbaDelivery(payload: string): Promise<[Buffer, HeaderMap]> {
  const hmac = (await octokitSign(TBA_SECRET, payload)).slice('sha256='.length)
  return [Buffer.from(payload), { 'x-tba-hmac': hmac, 'content-type': 'application/json' }]
}

const matchScore = (event: string, match = 'qm1') =>
  `{"message_type": "match_score", "message_data": {"event_key": "${event}", "match": {"key": "${event}_${match}"}}}`

describe('webhooks: receiving without HTTP', () => {
  let webhooks: Webhooks | undefined
  afterEach(() => webhooks?.close())

  it('accepts a TBA match_score, stores it before acting, then invalidates its event tag', async () => {
    const t = setup()
    webhooks = t.webhooks
    const reply = t.webhooks.receive(hook(cfg, 'tba'), ...(await tbaDelivery(matchScore('2024casj'))))
    expect(reply).toEqual({ status: 200, body: { received: true, id: 1 } })
    // Stored already, actions not yet run: the reply goes out first.
    expect((await t.webhooks.events.get(1))?.outcome).toBe('pending')
    expect(t.cache.calls).toEqual([])
    await t.webhooks.idle()
    expect(t.cache.calls).toEqual([{ selector: { tags: ['event:2024casj'] }, soft: false }])
    const event = await t.webhooks.events.get(1)
    expect(event).toMatchObject({
      webhook: 'tba',
      verified: true,
      outcome: 'acted',
      type: 'match_score',
      body: { message_data: { event_key: '2024casj' } },
      actions: [{ index: 0, matched: true, invalidated: ['event:2024casj'], count: 1 }],
    })
    expect(event?.headers?.['x-tba-hmac']).toBeUndefined()
    expect(t.webhooks.counters.get('tba', 'accepted')).toBe(1)
    expect(t.webhooks.counters.get('tba', 'acted')).toBe(1)
  })

  it('a repeated TBA body inside the replay window is acknowledged but not acted on twice', async () => {
    const t = setup()
    webhooks = t.webhooks
    const delivery = await tbaDelivery(matchScore('2024casj'))
    t.webhooks.receive(hook(cfg, 'tba'), ...delivery)
    await t.webhooks.idle()
    t.advance(3600_000)
    const again = t.webhooks.receive(hook(cfg, 'tba'), ...delivery)
    expect(again).toEqual({ status: 200, body: { received: true, duplicate: true, id: 2, duplicateOf: 1 } })
    await t.webhooks.idle()
    expect(t.cache.calls).toHaveLength(1)
    expect((await t.webhooks.events.get(2))?.outcome).toBe('duplicate')
    // After the window (24 h by default) the same body is a new delivery.
    t.advance(24 * 3600_000)
    expect(t.webhooks.receive(hook(cfg, 'tba'), ...delivery).body).toEqual({ received: true, id: 3 })
    await t.webhooks.idle()
    expect(t.cache.calls).toHaveLength(2)
  })

  it('a bad signature is 401 with only metadata kept, and nothing done', async () => {
    const t = setup()
    webhooks = t.webhooks
    const [raw] = await tbaDelivery(matchScore('2024casj'))
    const reply = t.webhooks.receive(hook(cfg, 'tba'), raw, { 'x-tba-hmac': 'ab'.repeat(32) })
    expect(reply.status).toBe(401)
    expect(reply.body).toEqual({ error: { code: 'invalid_signature', message: 'signature does not match' } })
    await t.webhooks.idle()
    expect(t.cache.calls).toEqual([])
    const event = await t.webhooks.events.get(1)
    expect(event).toMatchObject({ verified: false, outcome: 'unauthorized', size: raw.byteLength })
    expect(event?.body).toBeUndefined()
    expect(event?.headers).toBeUndefined()
    expect(event?.deliveryId).toBeUndefined()
    expect(t.webhooks.counters.get('tba', 'unauthorized')).toBe(1)
  })

  it('signed but not JSON is 400; nothing is done', async () => {
    const t = setup()
    webhooks = t.webhooks
    const reply = t.webhooks.receive(hook(cfg, 'tba'), ...(await tbaDelivery('{"message_type": ')))
    expect(reply.status).toBe(400)
    expect(reply.body).toMatchObject({ error: { code: 'invalid_json' } })
    await t.webhooks.idle()
    expect(t.cache.calls).toEqual([])
    expect(t.webhooks.counters.get('tba', 'invalid_json')).toBe(1)
  })

  it("logs TBA's verification message at warn with its key, and shows it in the events list", async () => {
    const t = setup()
    webhooks = t.webhooks
    const payload = '{"message_type": "verification", "message_data": {"verification_key": "0f3a9c"}}'
    expect(t.webhooks.receive(hook(cfg, 'tba'), ...(await tbaDelivery(payload))).status).toBe(200)
    const warn = t.logger.lines.find((line) => line.level === 'warn')
    expect(warn?.obj).toMatchObject({ webhook: 'tba', verificationKey: '0f3a9c' })
    expect(warn?.msg).toContain('0f3a9c')
    await t.webhooks.idle()
    const { events } = await t.webhooks.events.list({ webhook: 'tba' })
    expect(events[0]).toMatchObject({ type: 'verification', verificationKey: '0f3a9c', outcome: 'ignored' })
  })

  it('standard-webhooks: the webhook-id is the replay key; refresh targets paths and tags', async () => {
    const t = setup()
    webhooks = t.webhooks
    const payload = '{"type":"team.updated","data":{"team":"7244"}}'
    const signed = (id: string) => ({
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(t.now() / 1000)),
      'webhook-signature': new Webhook(SW_SECRETS[1]!).sign(id, new Date(t.now()), payload),
    })
    const sw = hook(cfg, 'sw')
    expect(t.webhooks.receive(sw, Buffer.from(payload), signed('msg_1'), { tenant: '2025' }).status).toBe(200)
    expect(
      t.webhooks.receive(sw, Buffer.from(payload), signed('msg_1'), { tenant: '2025' }).body,
    ).toMatchObject({
      duplicate: true,
    })
    // A new id for the same body is a new event (the sender says so, and signs it).
    expect(t.webhooks.receive(sw, Buffer.from(payload), signed('msg_2'), { tenant: '2025' }).body).toEqual({
      received: true,
      id: 3,
    })
    await t.webhooks.idle()
    expect(t.refresher.calls).toEqual([
      { selector: { key: '/ftc/2025/teams/7244' }, lane: 'background' },
      { selector: { tag: 'tenant:2025' }, lane: 'background' },
      { selector: { key: '/ftc/2025/teams/7244' }, lane: 'background' },
      { selector: { tag: 'tenant:2025' }, lane: 'background' },
    ])
    expect(t.cache.calls).toHaveLength(2)
  })

  it('stripe: a retry of one event (new timestamp, new signature) is a duplicate by event id', async () => {
    const t = setup()
    webhooks = t.webhooks
    const payload = JSON.stringify({
      id: 'evt_42',
      type: 'customer.updated',
      data: { object: { id: 'cus_9' } },
    })
    const header = () =>
      stripe.webhooks.generateTestHeaderString({
        payload,
        secret: STRIPE_SECRETS[0]!,
        timestamp: Math.floor(t.now() / 1000),
      })
    const target = hook(cfg, 'stripe')
    expect(t.webhooks.receive(target, Buffer.from(payload), { 'stripe-signature': header() }).status).toBe(
      200,
    )
    t.advance(60_000)
    const retry = t.webhooks.receive(target, Buffer.from(payload), { 'stripe-signature': header() })
    expect(retry.body).toMatchObject({ duplicate: true, duplicateOf: 1 })
    await t.webhooks.idle()
    expect(t.cache.calls).toEqual([{ selector: { tags: ['customer:cus_9'] }, soft: true }])
    // An old timestamp is refused outright, signed or not.
    const old = stripe.webhooks.generateTestHeaderString({
      payload,
      secret: STRIPE_SECRETS[0]!,
      timestamp: Math.floor(t.now() / 1000) - 600,
    })
    const expired = t.webhooks.receive(target, Buffer.from(payload), { 'stripe-signature': old })
    expect(expired.status).toBe(401)
    expect(expired.body).toMatchObject({ error: { code: 'signature_expired' } })
  })

  it('an action whose template has no value records the error; the others still run', async () => {
    const t = setup()
    webhooks = t.webhooks
    const payload = '{"message_type": "match_score", "message_data": {}}'
    t.webhooks.receive(hook(cfg, 'tba'), ...(await tbaDelivery(payload)))
    await t.webhooks.idle()
    const event = await t.webhooks.events.get(1)
    expect(event?.outcome).toBe('failed')
    expect(event?.actions?.[0]?.error).toMatch(/no value for body\.message_data\.event_key/)
    expect(t.logger.lines.some((line) => line.level === 'warn' && line.msg === 'webhook action failed')).toBe(
      true,
    )
    expect(t.webhooks.counters.get('tba', 'failed')).toBe(1)
  })
})
