import diagnostics_channel from 'node:diagnostics_channel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/util/errors.js'
import { type AdminHarness, startAdminHarness } from './helpers.js'
import { parseExposition } from './prom-text.js'

const FAMILIES = [
  'cistern_requests_total',
  'cistern_request_duration_seconds',
  'cistern_upstream_calls_total',
  'cistern_upstream_call_duration_seconds',
  'cistern_budget_refusals_total',
  'cistern_budget_tokens',
  'cistern_budget_burst',
  'cistern_budget_paused',
  'cistern_budget_in_flight',
  'cistern_budget_waiting',
  'cistern_upstream_up',
  'cistern_refresh_queue_depth',
  'cistern_refresh_lag_seconds',
  'cistern_change_events_total',
  'cistern_webhook_events_total',
  'cistern_store_errors_total',
  'cistern_store_operation_duration_seconds',
  'cistern_cache_entries',
  'cistern_cache_bytes',
  'cistern_cache_memory_max_bytes',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_seconds',
]

describe('admin: GET /metrics', () => {
  let h: AdminHarness
  let teams: number[]
  beforeAll(async () => {
    h = await startAdminHarness()
    teams = h.sim.teamNumbers(2025).slice(0, 4)
    // 4 misses, 8 hits on the teams route; 1 miss on events.
    for (let round = 0; round < 3; round++) for (const team of teams) await h.get(`/ftc/2025/teams/${team}`)
    await h.get('/ftc/2025/events')
  })
  afterAll(() => h.close())

  const scrape = async () => {
    const res = await h.api('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    return parseExposition(await res.text())
  }

  it('parses as Prometheus text and declares every family', async () => {
    const metrics = await scrape()
    for (const family of FAMILIES) expect(metrics.types.has(family), family).toBe(true)
    expect(metrics.types.get('cistern_requests_total')).toBe('counter')
    expect(metrics.types.get('cistern_request_duration_seconds')).toBe('histogram')
    expect(metrics.types.get('cistern_budget_tokens')).toBe('gauge')
  })

  it('counts match the traffic sent', async () => {
    const metrics = await scrape()
    const teamsRoute = { route: '/ftc/:season/teams/:team' }
    expect(metrics.sum('cistern_requests_total', { ...teamsRoute, cache_status: 'HIT' })).toBe(8)
    expect(metrics.sum('cistern_requests_total', { ...teamsRoute, cache_status: 'MISS' })).toBe(4)
    expect(
      metrics.sum('cistern_requests_total', { route: '/ftc/:season/events', cache_status: 'MISS' }),
    ).toBe(1)
    expect(metrics.sum('cistern_request_duration_seconds_count', { ...teamsRoute, outcome: 'hit' })).toBe(8)
    expect(metrics.sum('cistern_request_duration_seconds_count', { ...teamsRoute, outcome: 'miss' })).toBe(4)
    // Every call the simulated upstream received, by status and lane.
    expect(metrics.sum('cistern_upstream_calls_total')).toBe(h.sim.stats().total)
    expect(
      metrics.sum('cistern_upstream_calls_total', { upstream: 'ftc', status: '200', lane: 'foreground' }),
    ).toBe(5)
    expect(metrics.sum('cistern_upstream_call_duration_seconds_count', { upstream: 'ftc' })).toBe(5)
  })

  it('reports budget, breaker, tiers and store latency', async () => {
    const metrics = await scrape()
    const [tokens] = metrics.find('cistern_budget_tokens', { upstream: 'ftc', key: '0' })
    const [burst] = metrics.find('cistern_budget_burst', { upstream: 'ftc', key: '0' })
    expect(burst?.value).toBe(10)
    expect(tokens!.value).toBeGreaterThanOrEqual(0)
    expect(tokens!.value).toBeLessThanOrEqual(10)
    expect(metrics.sum('cistern_budget_paused', { upstream: 'ftc' })).toBe(0)
    expect(metrics.sum('cistern_upstream_up', { upstream: 'ftc' })).toBe(1)
    expect(metrics.sum('cistern_cache_entries', { tier: 'store' })).toBe(5)
    expect(metrics.sum('cistern_cache_entries', { tier: 'memory' })).toBe(5)
    expect(metrics.sum('cistern_cache_bytes', { tier: 'store' })).toBeGreaterThan(0)
    expect(
      metrics.sum('cistern_store_operation_duration_seconds_count', { store: 'sqlite', operation: 'set' }),
    ).toBe(5)
    // Cold reads went to the store first (synchronously, as SQLite answers in-process): timed as `get`.
    expect(
      metrics.sum('cistern_store_operation_duration_seconds_count', { store: 'sqlite', operation: 'get' }),
    ).toBeGreaterThanOrEqual(5)
  })

  it('keeps labels bounded: route names and statuses, never keys or URLs', async () => {
    const metrics = await scrape()
    for (const sample of metrics.samples.filter((s) => s.name.startsWith('cistern_'))) {
      for (const value of Object.values(sample.labels)) {
        expect(value).not.toMatch(/\?|http|\/ftc\/\d/)
        for (const team of teams) expect(value).not.toContain(String(team))
      }
    }
  })

  it('feeds the refresh, change and webhook families from the hooks and the recorder', async () => {
    const admin = h.cistern.admin!
    const queue = admin.hooks.queue
    admin.hooks.queue = () => ({
      items: [],
      priorities: { high: { depth: 3, lagMs: 1500 }, low: { depth: 40, lagMs: 90_000 } },
    })
    admin.recorder.changeEvent('/ftc/:season/matches/:event')
    admin.recorder.webhookEvent('tba', 'accepted')
    const metrics = await scrape()
    if (queue) admin.hooks.queue = queue
    expect(metrics.sum('cistern_refresh_queue_depth', { priority: 'low' })).toBe(40)
    expect(metrics.sum('cistern_refresh_lag_seconds', { priority: 'high' })).toBe(1.5)
    expect(metrics.sum('cistern_change_events_total', { route: '/ftc/:season/matches/:event' })).toBe(1)
    expect(metrics.sum('cistern_webhook_events_total', { webhook: 'tba', outcome: 'accepted' })).toBe(1)
  })

  it('counts store errors by store and code, and logs them at warn (throttled)', async () => {
    const channel = diagnostics_channel.channel('cistern:cache:error')
    for (let i = 0; i < 3; i++) {
      const error = new StoreError('sqlite', 'get', 'no answer within 1000ms', 'E_STORE_TIMEOUT')
      channel.publish({ key: '/x', error, phase: 'store' })
    }
    const metrics = await scrape()
    expect(metrics.sum('cistern_store_errors_total', { store: 'sqlite', code: 'E_STORE_TIMEOUT' })).toBe(3)
    const warnings = h.logs.filter((line) => line.includes('store call failed'))
    expect(warnings).toHaveLength(1)
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 'warn',
      store: 'sqlite',
      code: 'E_STORE_TIMEOUT',
    })
  })
})
