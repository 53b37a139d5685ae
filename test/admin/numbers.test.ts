import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statsView } from '../../src/admin/client/views.js'
import type { StatsBody } from '../../src/admin/routes/stats.js'
import { until } from '../refresh/helpers.js'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'
import { parseExposition } from './prom-text.js'

const yaml = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}", retries: { max: 0 } }
routes:
  - name: teams
    path: /ftc/:season/teams/:team
    to: /:season/teams?teamNumber=:team
    ttl: 1h
  - name: events
    path: /ftc/:season/events
    to: /:season/events
    ttl: 1h
  - name: polled
    path: /ftc/:season/events/:code
    to: /:season/events/:code
    ttl: 1h
    refresh: { every: 100ms, while: always }
`

/** The numbers a new user compares: stats, its CLI summary, and /metrics, over the same traffic. */
describe('stats, the CLI summary and /metrics count requests the same way', () => {
  let h: AdminHarness
  beforeAll(async () => {
    h = await startAdminHarness({ yaml, sim: { retryAfterSec: 1 } })
  })
  afterAll(() => h.close())
  const stats = async () => json<StatsBody>(await h.api('/stats'))

  it('the calls-saved total is the sum of the rows, though one route refreshes more than it is read', async () => {
    const [team] = h.sim.teamNumbers(2025)
    // teams: 1 miss + 1 hit → saved 1; events: 1 miss + 3 hits → saved 3.
    for (let i = 0; i < 2; i++) await (await h.get(`/ftc/2025/teams/${team}`)).text()
    for (let i = 0; i < 4; i++) await (await h.get('/ftc/2025/events')).text()
    // polled: one read, then background refreshes every 100 ms: more calls than requests.
    const event = h.sim.events(2025)[0]!.code
    await (await h.get(`/ftc/2025/events/${event}`)).text()
    await until(async () => ((await stats()).routes.polled!.upstreamCalls >= 8 ? true : undefined), 5000)

    const body = await stats()
    expect(body.routes.teams!.callsSaved).toBe(1)
    expect(body.routes.events!.callsSaved).toBe(3)
    expect(body.routes.polled!.callsSaved).toBe(0)
    expect(body.totals.callsSaved).toBe(4)
    expect(body.totals.usageReduction).toBeCloseTo(4 / body.totals.requests, 3)
  })

  it('BYPASS, REVALIDATED and ERROR are in the summary, the header and the metrics alike', async () => {
    const [, team] = h.sim.teamNumbers(2025)
    // Cache-Control: no-cache forces the upstream: BYPASS without a copy, REVALIDATED (304) with one.
    const forced = async () => {
      const res = await h.get(`/ftc/2025/teams/${team}`, { 'cache-control': 'no-cache' })
      await res.text()
      return res.headers.get('x-cache-status')
    }
    expect(await forced()).toBe('BYPASS')
    expect(await forced()).toBe('REVALIDATED')

    // No copy and the upstream answers 503: cistern answers an error itself.
    await h.sim.set({ mode: '503' })
    const failed = await h.get('/ftc/2025/teams/999999')
    await failed.text()
    await h.sim.set({ mode: 'up' })
    expect(failed.status).toBeGreaterThanOrEqual(502)
    expect(failed.headers.get('x-cache-status')).toBe('ERROR')

    const body = await stats()
    const teams = body.routes.teams!
    expect(teams.bypass).toBe(1)
    expect(teams.revalidated).toBe(1)
    expect(teams.errors).toBe(1)
    const summary = statsView(body)
    const t = body.totals
    expect(summary).toContain(
      `requests:       ${t.requests} (hits ${t.hits}, stale ${t.stale}, revalidated ${t.revalidated}, misses ${t.misses}, bypass ${t.bypass}, pass ${t.pass}, errors ${t.errors})`,
    )
    expect(t.hits + t.stale + t.revalidated + t.misses + t.bypass + t.pass + t.errors).toBe(t.requests)

    const metrics = parseExposition(await (await h.api('/metrics')).text())
    const count = (status: string) =>
      metrics.sum('cistern_requests_total', { route: 'teams', cache_status: status })
    expect(count('ERROR')).toBe(teams.errors)
    expect(count('BYPASS')).toBe(teams.bypass)
    expect(count('REVALIDATED')).toBe(teams.revalidated)
    expect(count('MISS')).toBe(teams.misses)
    expect(count('HIT')).toBe(teams.hits)
  })
})
