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
})
