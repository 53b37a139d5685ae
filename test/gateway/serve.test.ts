import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.js'

describe('gateway: serving from cache', () => {
  let h: Harness
  let team: number
  beforeAll(async () => {
    h = await startHarness()
    team = h.sim.teamNumbers(2025)[0]!
  })
  afterAll(() => h.close())

  it('misses once, then hits with Cache-Status, X-Cache-Status, Age and X-Cache-Fetched-At', async () => {
    const miss = await h.get(`/ftc/2025/teams/${team}`)
    expect(miss.status).toBe(200)
    expect(miss.headers.get('x-cache-status')).toBe('MISS')
    expect(miss.headers.get('cache-status')).toMatch(
      /^cistern; fwd=uri-miss; fwd-status=200; ttl=\d+; stored; key="\/ftc\/2025\/teams\/\d+"$/,
    )
    const body = await miss.json()
    expect(JSON.stringify(body)).toContain(String(team))

    const hit = await h.get(`/ftc/2025/teams/${team}`)
    expect(hit.status).toBe(200)
    expect(hit.headers.get('x-cache-status')).toBe('HIT')
    expect(hit.headers.get('cache-status')).toMatch(/^cistern; hit; ttl=86\d{3}; key=/)
    expect(hit.headers.get('age')).toMatch(/^\d+$/)
    expect(Date.parse(hit.headers.get('x-cache-fetched-at')!)).toBeGreaterThan(Date.now() - 60_000)
    expect(hit.headers.get('content-type')).toMatch(/json/)
    expect(hit.headers.get('etag')).toBeTruthy()
    expect(await hit.json()).toEqual(body)
    expect(h.sim.stats().byPath).toMatchObject({ '/v2.0/2025/teams': 1 })
  })

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(`${h.url}/ftc/2025/teams/${team}`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache-status')).toBe('HIT')
    expect(await res.text()).toBe('')
  })

  it('answers a matching If-None-Match with 304 from the cache', async () => {
    const first = await h.get(`/ftc/2025/teams/${team}`)
    const etag = first.headers.get('etag')!
    const res = await h.get(`/ftc/2025/teams/${team}`, { 'if-none-match': etag })
    expect(res.status).toBe(304)
    expect(res.headers.get('etag')).toBe(etag)
    const lastModified = first.headers.get('last-modified')!
    const ims = await h.get(`/ftc/2025/teams/${team}`, { 'if-modified-since': lastModified })
    expect(ims.status).toBe(304)
  })

  it('serves gzip and br variants with Vary: Accept-Encoding', async () => {
    const events = await h.get('/ftc/2025/events')
    const identity = await events.text()
    const { request } = await import('undici')
    for (const coding of ['gzip', 'br']) {
      const res = await request(`${h.url}/ftc/2025/events`, { headers: { 'accept-encoding': coding } })
      expect(res.headers['content-encoding']).toBe(coding)
      expect(res.headers.vary).toMatch(/accept-encoding/i)
      const zlib = await import('node:zlib')
      const raw = Buffer.from(await res.body.arrayBuffer())
      const text = (coding === 'gzip' ? zlib.gunzipSync(raw) : zlib.brotliDecompressSync(raw)).toString()
      expect(text).toBe(identity)
    }
  })

  it('client no-cache revalidates with the upstream (a 304 here) and restarts freshness', async () => {
    const before = h.sim.stats().notModified
    const res = await h.get(`/ftc/2025/teams/${team}`, { 'cache-control': 'no-cache' })
    expect(res.headers.get('x-cache-status')).toBe('REVALIDATED')
    expect(res.headers.get('cache-status')).toMatch(
      /^cistern; fwd=request; fwd-status=304; ttl=86\d{3}; stored/,
    )
    expect(res.headers.get('age')).toBe('0')
    expect(h.sim.stats().notModified).toBe(before + 1)
  })

  it('client no-cache on a changed resource fetches it anew (BYPASS)', async () => {
    const path = `/ftc/2025/teams/${h.sim.teamNumbers(2025)[1]}`
    await h.get(path)
    await fetch(`${h.url}${path}`, {
      method: 'PATCH',
      body: JSON.stringify({ nameShort: 'Renamed' }),
      headers: { 'content-type': 'application/json' },
    })
    const res = await h.get(path, { 'cache-control': 'no-cache' })
    expect(res.headers.get('x-cache-status')).toBe('BYPASS')
  })

  it('gives JSON 404 and 405 errors', async () => {
    const missing = await h.get('/nope')
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'route_not_found' } })
    const post = await fetch(`${h.url}/ftc/2025/events`, { method: 'POST', body: '{}' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toContain('GET')
    expect(await post.json()).toMatchObject({ error: { code: 'method_not_allowed' } })
  })
})
