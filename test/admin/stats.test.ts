import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'

interface Counts {
  requests: number
  hits: number
  misses: number
  stale: number
  pass: number
  errors: number
  upstreamCalls: number
  callsSaved: number
  hitRate: number | null
  entries?: number
  bytes?: number
}
interface Stats {
  totals: Counts
  routes: Record<string, Counts>
  store: { entries: number; bytes: number; reachable: boolean }
  memory: { entries: number; bytes: number }
}

describe('admin: GET /stats matches the traffic sent', () => {
  let h: AdminHarness
  beforeAll(async () => {
    h = await startAdminHarness()
  })
  afterAll(() => h.close())

  it('counts hits, misses, pass-throughs, upstream calls and calls saved, overall and per route', async () => {
    const [a, b] = h.sim.teamNumbers(2025)
    // teams: 2 misses then 3 hits each → 10 requests, 2 upstream calls.
    for (const team of [a, b])
      for (let i = 0; i < 4; i++) expect((await h.get(`/ftc/2025/teams/${team}`)).status).toBe(200)
    // events: 1 miss, 1 hit.
    await h.get('/ftc/2025/events')
    await h.get('/ftc/2025/events')
    // one write passes through (and invalidates team a).
    const write = await fetch(`${h.url}/ftc/2025/teams/${a}`, {
      method: 'PATCH',
      body: JSON.stringify({ nameShort: 'X' }),
      headers: { 'content-type': 'application/json' },
    })
    expect(write.headers.get('x-cache-status')).toBe('PASS')

    const stats = await json<Stats>(await h.api('/stats'))
    const teams = stats.routes['/ftc/:season/teams/:team']
    expect(teams).toMatchObject({
      requests: 8,
      misses: 2,
      hits: 6,
      upstreamCalls: 2,
      callsSaved: 6,
      hitRate: 0.75,
    })
    expect(stats.totals).toMatchObject({
      requests: 11,
      hits: 7,
      misses: 3,
      pass: 1,
      errors: 0,
      upstreamCalls: 4,
      callsSaved: 7,
    })
    expect(stats.totals.hitRate).toBe(0.7)
    expect(h.sim.stats().total).toBe(4)
    // The write invalidated team a: 2 entries left (team b, events).
    expect(stats.store).toMatchObject({ reachable: true, entries: 2 })
    expect(stats.store.bytes).toBeGreaterThan(0)
    expect(stats.memory.entries).toBeGreaterThanOrEqual(2)
    expect(teams?.entries).toBe(1)
  })
})
