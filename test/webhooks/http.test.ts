import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign as octokitSign } from '@octokit/webhooks-methods'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimUpstream } from '../../examples/sim-upstream/index.js'
import type { Cistern } from '../../src/app/cistern.js'
import { TBA_SECRET } from './helpers.js'
import { rawExchange, startOn, startSim } from './stack.js'

async function postTba(url: string, payload: string, secret = TBA_SECRET): Promise<Response> {
  const hmac = (await octokitSign(secret, payload)).slice('sha256='.length)
  return fetch(`${url}/hooks/tba`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset="utf-8"', 'x-tba-hmac': hmac },
    body: payload,
  })
}

describe('webhooks over real HTTP (simulated upstream, SQLite store)', () => {
  let sim: SimUpstream
  let cistern: Cistern
  let dir: string
  beforeAll(async () => {
    sim = await startSim()
    dir = await mkdtemp(join(tmpdir(), 'cistern-webhooks-'))
    cistern = await startOn(sim, dir)
  })
  afterAll(async () => {
    await cistern?.close(1000)
    await sim?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it("a TBA match_score invalidates exactly its event's tag; the next read is fresh from the upstream", async () => {
    const events = sim.events(2025)
    const paths = events.map((e) => `/ftc/2025/matches/${e.code}`)
    for (const path of paths)
      expect((await fetch(cistern.url + path)).headers.get('x-cache-status')).toBe('MISS')
    const before = new Map<string, string>()
    for (const path of paths) {
      const res = await fetch(cistern.url + path)
      expect(res.headers.get('x-cache-status')).toBe('HIT')
      before.set(path, await res.text())
    }
    // Scores move upstream; only the webhook tells cistern, and only about one event.
    const changed = sim.tick().changes.map((c) => c.event)
    expect(changed.length).toBeGreaterThan(0)
    const target = changed[0]!
    const payload = `{"message_type": "match_score", "message_data": {"event_key": "${target}", "event_name": "Meet", "match": {"key": "${target}_qm1"}}}`
    const started = performance.now()
    const res = await postTba(cistern.url, payload)
    expect(res.status).toBe(200)
    expect(performance.now() - started).toBeLessThan(1000)
    const { id } = (await res.json()) as { id: number }
    await cistern.webhooks.idle()
    expect((await cistern.webhooks.events.get(id))?.outcome).toBe('acted')

    const callsBefore = sim.stats().total
    const fresh = await fetch(`${cistern.url}/ftc/2025/matches/${target}`)
    expect(fresh.headers.get('x-cache-status')).toBe('MISS')
    const freshBody = await fresh.text()
    expect(freshBody).not.toBe(before.get(`/ftc/2025/matches/${target}`))
    expect(sim.stats().total).toBe(callsBefore + 1)
    for (const path of paths.filter((p) => !p.endsWith(`/${target}`))) {
      const res = await fetch(cistern.url + path)
      expect(res.headers.get('x-cache-status'), path).toBe('HIT')
      expect(await res.text()).toBe(before.get(path))
    }
    expect(sim.stats().total).toBe(callsBefore + 1)
    // And what cistern served is what the upstream has now.
    expect(freshBody).toBe(await (await fetch(`${sim.apiUrl}/2025/matches/${target}`)).text())
  })

  it('refuses a wrong secret (401), non-JSON (400) and other methods (405) with JSON errors', async () => {
    const bad = await postTba(cistern.url, '{"message_type": "ping"}', 'wrong')
    expect(bad.status).toBe(401)
    expect(bad.headers.get('content-type')).toMatch(/application\/json/)
    expect(await bad.json()).toEqual({
      error: { code: 'invalid_signature', message: 'signature does not match' },
    })
    const garbled = await postTba(cistern.url, 'not json')
    expect(garbled.status).toBe(400)
    expect(((await garbled.json()) as { error: { code: string } }).error.code).toBe('invalid_json')
    const get = await fetch(`${cistern.url}/hooks/tba`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect(((await get.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed')
    const counters = cistern.webhooks.counters
    expect(counters.get('tba', 'unauthorized')).toBeGreaterThanOrEqual(1)
    expect(counters.get('tba', 'method_not_allowed')).toBe(1)
  })

  it('a declared Content-Length over the limit gets 413 before any body byte is sent', async () => {
    const head = `POST /hooks/tba HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`
    const answer = await rawExchange(cistern.url, head, [])
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer).toContain('"code":"body_too_large"')
  })

  it('a chunked body is refused with 413 as soon as it crosses the limit, without waiting for the rest', async () => {
    const head = 'POST /hooks/tba HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
    const chunk = Buffer.alloc(70 * 1024, 0x61)
    // The request is never finished: only a server that stops reading at the limit can answer.
    const answer = await rawExchange(cistern.url, head, [
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
    ])
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    const { events } = await cistern.webhooks.events.list({ outcome: 'too_large' })
    expect(events.length).toBe(2)
  })

  it('the gateway still routes everything else', async () => {
    const res = await fetch(`${cistern.url}/hooks/other`)
    expect(res.status).toBe(404)
  })
})
