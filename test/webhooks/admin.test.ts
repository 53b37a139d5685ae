import { sign as octokitSign } from '@octokit/webhooks-methods'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cistern, startCistern } from '../../src/app/cistern.js'
import { config, HOOKS_ENV, HOOKS_YAML, TBA_SECRET } from './helpers.js'

const TOKEN = 'admin-token-for-tests'

describe('webhooks in the admin API', () => {
  let cistern: Cistern
  beforeAll(async () => {
    const cfg = config(`listen: 127.0.0.1:0\nadmin: { listen: "127.0.0.1:0" }\n${HOOKS_YAML}`, HOOKS_ENV)
    cistern = await startCistern(cfg, { logger: pino({ level: 'silent' }), admin: { token: TOKEN } })
  })
  afterAll(() => cistern?.close(1000))

  const admin = (path: string) =>
    fetch(`${cistern.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })

  it("GET /events lists deliveries, verified or not, and shows TBA's verification key", async () => {
    const payload = '{"message_type": "verification", "message_data": {"verification_key": "abc123"}}'
    const hmac = (await octokitSign(TBA_SECRET, payload)).slice(7)
    const post = (signature: string) =>
      fetch(`${cistern.url}/hooks/tba`, {
        method: 'POST',
        headers: { 'x-tba-hmac': signature },
        body: payload,
      })
    expect((await post(hmac)).status).toBe(200)
    expect((await post('00'.repeat(32))).status).toBe(401)
    await cistern.webhooks.idle()

    const res = await admin('/events?limit=1')
    expect(res.status).toBe(200)
    const first = (await res.json()) as { available: boolean; events: { outcome: string }[]; cursor: string }
    expect(first.available).toBe(true)
    expect(first.events).toMatchObject([{ webhook: 'tba', verified: false, outcome: 'unauthorized' }])
    const next = (await (await admin(`/events?limit=1&cursor=${first.cursor}`)).json()) as {
      events: unknown[]
    }
    expect(next.events).toMatchObject([{ webhook: 'tba', verified: true, verificationKey: 'abc123' }])
    const bogus = (await (await admin('/events?cursor=nope')).json()) as { events: unknown[] }
    expect(bogus.events).toEqual([])
  })

  it('GET /metrics counts deliveries by webhook and outcome', async () => {
    const text = await (await admin('/metrics')).text()
    expect(text).toMatch(/cistern_webhook_events_total\{webhook="tba",outcome="accepted"\} 1/)
    expect(text).toMatch(/cistern_webhook_events_total\{webhook="tba",outcome="unauthorized"\} 1/)
    expect(text).toMatch(/cistern_webhook_events_total\{webhook="tba",outcome="ignored"\} 1/)
  })
})
