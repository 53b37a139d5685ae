import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.js'

/** One route, fresh for 1 s and never served stale: every read after that revalidates in the foreground. */
const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    ttl: 1s
    stale: 0s
`

describe('gateway: revalidation with the upstream', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())

  async function revalidates(sim: { etag: boolean; lastModified: boolean }, header: string) {
    let now = Date.now()
    h = await startHarness({ yaml, sim, now: () => now })
    const path = `/ftc/2025/teams/${h.sim.teamNumbers(2025)[0]}`
    const first = await h.get(path)
    expect(first.headers.get('x-cache-status')).toBe('MISS')
    const body = await first.text()
    now += 5000
    const second = await h.get(path)
    expect(second.status).toBe(200)
    expect(second.headers.get('x-cache-status')).toBe('REVALIDATED')
    expect(second.headers.get('cache-status')).toMatch(/fwd=stale; fwd-status=304; ttl=1; stored/)
    expect(second.headers.get('age')).toBe('0')
    expect(await second.text()).toBe(body)
    const conditional = h.sim.calls.at(-1)!
    expect(conditional.status).toBe(304)
    expect(conditional.headers[header]).toBeTruthy()
    // The refreshed entry is fresh again: the next read is a hit with no upstream call.
    const calls = h.sim.stats().total
    const third = await h.get(path)
    expect(third.headers.get('x-cache-status')).toBe('HIT')
    expect(h.sim.stats().total).toBe(calls)
  }

  it('by ETag: If-None-Match becomes an upstream 304 and a refreshed entry', async () => {
    await revalidates({ etag: true, lastModified: false }, 'if-none-match')
  })

  it('by Last-Modified: If-Modified-Since becomes an upstream 304 and a refreshed entry', async () => {
    await revalidates({ etag: false, lastModified: true }, 'if-modified-since')
  })

  it('a changed resource answers 200 and replaces the entry', async () => {
    let now = Date.now()
    h = await startHarness({ yaml, now: () => now })
    const team = h.sim.teamNumbers(2025)[0]
    const path = `/ftc/2025/teams/${team}`
    await (await h.get(path)).text()
    await fetch(`${h.sim.apiUrl}/2025/teams/${team}`, {
      method: 'PATCH',
      body: JSON.stringify({ nameShort: 'Changed Upstream' }),
      headers: { 'content-type': 'application/json' },
    })
    now += 5000
    const res = await h.get(path)
    expect(res.headers.get('x-cache-status')).toBe('MISS')
    expect(await res.text()).toContain('Changed Upstream')
  })

  it('refreshKey asks the upstream again in the background lane, and refuses credential-bound keys', async () => {
    h = await startHarness({ yaml })
    const path = `/ftc/2025/teams/${h.sim.teamNumbers(2025)[0]}`
    await (await h.get(path)).text()
    const refreshed = await h.gateway.refreshKey(path)
    expect(refreshed.kind).toBe('refreshed')
    if (refreshed.kind === 'refreshed') expect(refreshed.result.status).toBe('revalidated')
    expect(h.sim.calls.at(-1)!.status).toBe(304)
    expect((await h.gateway.refreshKey(`${path}#auth=abc`)).kind).toBe('private')
    expect((await h.gateway.refreshKey('/nowhere')).kind).toBe('no-route')
  })

  it('a Last-Modified within a second of the fetch is weak: no If-Modified-Since, so a same-second change is not missed', async () => {
    // One clock for both: the upstream stamps changes with it, cistern its fetches.
    let now = 1_800_000_000_500
    const clock = () => now
    h = await startHarness({
      yaml: `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - path: /ftc/:season/matches/:event
    ttl: 1h
`,
      sim: { etag: false, now: clock },
      now: clock,
    })
    const path = `/ftc/2025/matches/${h.sim.liveEvents()[0]!.code}`
    const read = async (headers: Record<string, string> = { 'cache-control': 'no-cache' }) => {
      const res = await h!.get(path, headers)
      return { body: await res.text(), call: h!.sim.calls.at(-1)! }
    }
    h.sim.tick() // changed at x.500: Last-Modified says second x
    const first = await read({})
    now += 200
    h.sim.tick() // changed again at x.700, still second x
    const second = await read()
    expect(second.call.headers['if-modified-since']).toBeUndefined()
    expect(second.call.status).toBe(200)
    expect(second.body).not.toBe(first.body)
    // Fetched at x.700, still within second x: still weak.
    now += 2800
    expect((await read()).call.headers['if-modified-since']).toBeUndefined()
    // Fetched at x+3.5 s: Last-Modified (second x) is now strong, and revalidation costs a 304.
    now += 1000
    const fourth = await read()
    expect(fourth.call.headers['if-modified-since']).toBe(new Date(1_800_000_000_000).toUTCString())
    expect(fourth.call.status).toBe(304)
    expect(fourth.body).toBe(second.body)
  })
})
