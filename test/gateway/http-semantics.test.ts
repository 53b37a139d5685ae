import { afterEach, describe, expect, it } from 'vitest'
import type { SimOptions } from '../../examples/sim-upstream/index.js'
import { type Harness, startHarness } from './harness.js'

const base = (upstreamExtra: string) => `
listen: \${CISTERN_LISTEN}
store: { kind: sqlite, path: "\${CISTERN_DB}" }
limits: { maxBodySize: 1KB }
upstreams:
  ftc:
    url: "\${SIM_URL}"
${upstreamExtra}`
const teamRoute = (extra = '') => `
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    ttl: 1h
${extra}`

describe('gateway: HTTP semantics', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())
  const start = async (routes: string, sim: SimOptions = {}, upstreamExtra = '') => {
    h = await startHarness({ yaml: `${base(upstreamExtra)}routes:${routes}`, sim })
    return { h, team: h.sim.teamNumbers(2025)[0]! }
  }
  const xcache = (res: Response) => res.headers.get('x-cache-status')

  it('sorts the query and drops ignored params from the key (and from the upstream call)', async () => {
    const { h, team } = await start(teamRoute('    query: { ignore: [_ts] }'))
    expect(xcache(await h.get(`/ftc/2025/teams/${team}?b=2&a=1&_ts=1`))).toBe('MISS')
    const again = await h.get(`/ftc/2025/teams/${team}?a=1&b=2&_ts=999`)
    expect(xcache(again)).toBe('HIT')
    expect(again.headers.get('cache-status')).toContain(`key="/ftc/2025/teams/${team}?a=1&b=2"`)
    expect(h.sim.calls.at(-1)!.url).toBe(`/v2.0/2025/teams/${team}?b=2&a=1`)
  })

  it('vary headers join the key', async () => {
    const { h, team } = await start(teamRoute('    vary: [accept-language]'))
    expect(xcache(await h.get(`/ftc/2025/teams/${team}`, { 'accept-language': 'en' }))).toBe('MISS')
    expect(xcache(await h.get(`/ftc/2025/teams/${team}`, { 'accept-language': 'nb' }))).toBe('MISS')
    expect(xcache(await h.get(`/ftc/2025/teams/${team}`, { 'accept-language': 'en' }))).toBe('HIT')
  })

  it('requests with credentials never share an entry unless the route is public', async () => {
    const { h, team } = await start(`${teamRoute()}
  - path: /pub/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    ttl: 1h
    public: true
`)
    const path = `/ftc/2025/teams/${team}`
    expect(xcache(await h.get(path, { authorization: 'Bearer alice' }))).toBe('MISS')
    expect(xcache(await h.get(path, { authorization: 'Bearer bob' }))).toBe('MISS')
    expect(xcache(await h.get(path))).toBe('MISS')
    expect(xcache(await h.get(path, { authorization: 'Bearer alice' }))).toBe('HIT')
    const pub = `/pub/2025/teams/${team}`
    expect(xcache(await h.get(pub, { authorization: 'Bearer alice' }))).toBe('MISS')
    expect(xcache(await h.get(pub, { cookie: 'session=bob' }))).toBe('HIT')
  })

  it('a route can switch client bypass off', async () => {
    const { h, team } = await start(teamRoute('    bypass: false'))
    await h.get(`/ftc/2025/teams/${team}`)
    expect(xcache(await h.get(`/ftc/2025/teams/${team}`, { 'cache-control': 'no-cache' }))).toBe('HIT')
  })

  for (const [name, headers] of [
    ['no-store', { 'cache-control': 'no-store' }],
    ['private', { 'cache-control': 'private, max-age=60' }],
    ['Set-Cookie', { 'set-cookie': 'sid=1' }],
  ] as const) {
    it(`does not store upstream ${name} answers`, async () => {
      const { h, team } = await start(teamRoute(), { extraHeaders: headers })
      expect(xcache(await h.get(`/ftc/2025/teams/${team}`))).toBe('MISS')
      const second = await h.get(`/ftc/2025/teams/${team}`)
      expect(xcache(second)).toBe('MISS')
      expect(second.headers.get('cache-status')).not.toContain('stored')
      expect(second.headers.get('set-cookie')).toBeNull()
    })
  }

  it('Surrogate-Key tags from the upstream can be invalidated', async () => {
    const { h, team } = await start(teamRoute(), { surrogateKeys: true })
    await h.get(`/ftc/2025/teams/${team}`)
    expect(await h.gateway.cache.invalidate({ tag: `team:${team}` })).toBe(1)
    expect(xcache(await h.get(`/ftc/2025/teams/${team}`))).toBe('MISS')
  })

  it('a successful write invalidates its tags and its path; the next read is fresh from the upstream', async () => {
    const { h, team } = await start(`
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    ttl: 1h
    tags: ["team:{team}"]
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    methods: [PATCH]
    invalidates: ["team:{team}"]
`)
    const path = `/ftc/2025/teams/${team}`
    await h.get(path)
    expect(xcache(await h.get(path))).toBe('HIT')
    const write = await fetch(h.url + path, {
      method: 'PATCH',
      body: JSON.stringify({ nameShort: 'Written' }),
      headers: { 'content-type': 'application/json' },
    })
    expect(write.status).toBe(200)
    expect(xcache(write)).toBe('PASS')
    expect(write.headers.get('cache-status')).toBe('cistern; fwd=method; fwd-status=200')
    const after = await h.get(path)
    expect(xcache(after)).toBe('MISS')
    expect(await after.text()).toContain('Written')
  })

  it('request bodies over the limit get a JSON 413 and never reach the upstream', async () => {
    const { h, team } = await start(`${teamRoute()}
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    methods: [PUT]
`)
    h.sim.resetStats()
    const res = await fetch(`${h.url}/ftc/2025/teams/${team}`, { method: 'PUT', body: 'x'.repeat(5000) })
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ error: { code: 'body_too_large' } })
    expect(h.sim.stats().total).toBe(0)
  })

  describe('routes without ttl follow the upstream (RFC 9111)', () => {
    const route = `
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
`
    it('max-age sets freshness; Age from the upstream counts against it', async () => {
      const { h, team } = await start(route, { cacheControl: 'public, max-age=120' })
      await h.get(`/ftc/2025/teams/${team}`)
      const hit = await h.get(`/ftc/2025/teams/${team}`)
      expect(xcache(hit)).toBe('HIT')
      expect(hit.headers.get('cache-status')).toMatch(/ttl=1(19|20)/)
    })

    it('s-maxage wins over max-age for a shared cache', async () => {
      const { h, team } = await start(route, { cacheControl: 'max-age=10, s-maxage=300' })
      await h.get(`/ftc/2025/teams/${team}`)
      expect((await h.get(`/ftc/2025/teams/${team}`)).headers.get('cache-status')).toMatch(/ttl=(299|300)/)
    })

    it('no-cache stores but revalidates every time', async () => {
      const { h, team } = await start(route, { cacheControl: 'no-cache' })
      await h.get(`/ftc/2025/teams/${team}`)
      expect(xcache(await h.get(`/ftc/2025/teams/${team}`))).toBe('REVALIDATED')
    })

    it('no-store is never stored', async () => {
      const { h, team } = await start(route, { cacheControl: 'no-store' })
      await h.get(`/ftc/2025/teams/${team}`)
      expect(xcache(await h.get(`/ftc/2025/teams/${team}`))).toBe('MISS')
    })

    it('Expires without Cache-Control sets freshness', async () => {
      const expires = new Date(Date.now() + 600_000).toUTCString()
      const { h, team } = await start(route, { extraHeaders: { expires } })
      await h.get(`/ftc/2025/teams/${team}`)
      const hit = await h.get(`/ftc/2025/teams/${team}`)
      expect(xcache(hit)).toBe('HIT')
      expect(hit.headers.get('cache-status')).toMatch(/ttl=(59\d|600)/)
    })
  })

  it('adds configured credentials: each key of a bearer pool reaches the upstream', async () => {
    const { h, team } = await start(
      teamRoute(),
      { auth: { bearer: ['k1', 'k2'] } },
      '    auth: { bearer: [k1, k2] }\n',
    )
    for (let i = 0; i < 2; i++) {
      await h.get(`/ftc/2025/teams/${team}?n=${i}`)
    }
    const used = h.sim.calls.slice(-2).map((call) => String(call.headers.authorization))
    expect(used.sort()).toEqual(['Bearer k1', 'Bearer k2'])
  })

  it('adds configured credentials: a query key reaches the upstream', async () => {
    const { h, team } = await start(
      teamRoute(),
      { auth: { query: { name: 'key', values: ['secret-1'] } } },
      '    auth: { query: { name: key, value: secret-1 } }\n',
    )
    expect((await h.get(`/ftc/2025/teams/${team}`)).status).toBe(200)
    expect(h.sim.calls.at(-1)!.url).toBe(`/v2.0/2025/teams/${team}?key=secret-1`)
  })

  it("a pass-through relays the upstream's own error answer (status and body), not a cistern error", async () => {
    const { h, team } = await start(`${teamRoute()}
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    methods: [PUT]
`)
    await h.sim.set({ mode: '500' })
    const res = await fetch(`${h.url}/ftc/2025/teams/${team}`, { method: 'PUT', body: '{}' })
    expect(res.status).toBe(500)
    expect(res.headers.get('x-cache-status')).toBe('PASS')
    expect(res.headers.get('cache-status')).toBe('cistern; fwd=method; fwd-status=500')
    expect(await res.text()).toContain('sim-upstream')
    expect(h.sim.stats().byMethod.PUT).toBe(1)
  })
})
