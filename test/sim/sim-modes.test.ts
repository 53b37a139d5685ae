import { afterEach, describe, expect, it } from 'vitest'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { failureOf, get, json } from './helpers.js'

let sim: SimUpstream | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const PATH = '/v2.0/2025/events'

describe('sim-upstream: outage modes, latency, control API, close', () => {
  it('answers 503 (Retry-After), 500, 429 and an HTML 200, then recovers', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, retryAfterSec: 7 })
    await sim.set({ mode: '503' })
    const u = await get(sim, PATH)
    expect([u.status, u.headers.get('retry-after')]).toEqual([503, '7'])
    await sim.set({ mode: '500' })
    expect((await get(sim, PATH)).status).toBe(500)
    await sim.set({ mode: '429' })
    expect((await get(sim, PATH)).headers.get('retry-after')).toBe('7')
    await sim.set({ mode: 'html200' })
    const html = await get(sim, PATH)
    expect(html.status).toBe(200)
    expect(html.headers.get('content-type')).toMatch(/^text\/html/)
    expect(html.text).toMatch(/^<!DOCTYPE html>/)
    await sim.set({ mode: 'up' })
    expect((await get(sim, PATH)).status).toBe(200)
    expect(sim.stats().byStatus).toEqual({ '200': 2, '429': 1, '500': 1, '503': 1 })
  })

  it('down-refuse refuses connections, then listens again on the same port', async () => {
    sim = await startSimUpstream({ changeEveryMs: false })
    const port = sim.port
    expect((await get(sim, PATH)).status).toBe(200) // a kept-alive connection now exists
    await sim.set({ mode: 'down-refuse' })
    expect(await failureOf(get(sim, PATH))).toBe('ECONNREFUSED')
    await sim.set({ mode: 'up' })
    expect(sim.port).toBe(port)
    expect((await get(sim, PATH)).status).toBe(200)
  })

  it('a separate control port stays reachable while down-refuse', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, controlPort: 0 })
    expect(sim.controlUrl).not.toBe(sim.url)
    const control = (q: string) =>
      fetch(`${sim!.controlUrl}/_sim/mode?${q}`, { method: 'POST', signal: AbortSignal.timeout(2000) })
    expect((await control('mode=down-refuse')).status).toBe(200)
    for (let i = 0; i < 40 && sim.mode !== 'down-refuse'; i++) await new Promise((r) => setTimeout(r, 10))
    expect(await failureOf(get(sim, PATH))).toBe('ECONNREFUSED')
    expect((await control('mode=up')).status).toBe(200)
    for (let i = 0; i < 40 && sim.mode !== 'up'; i++) await new Promise((r) => setTimeout(r, 10))
    expect((await get(sim, PATH)).status).toBe(200)
    expect((await fetch(`${sim.controlUrl}/v2.0`, { signal: AbortSignal.timeout(2000) })).status).toBe(404)
  })

  it('reset destroys sockets; hang never answers; slow trickles the body; all recover', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, slowMs: 300 })
    await sim.set({ mode: 'reset' })
    expect(await failureOf(get(sim, PATH))).toMatch(/ECONNRESET|UND_ERR_SOCKET/)
    await sim.set({ mode: 'hang' })
    expect(await failureOf(get(sim, PATH, {}, 200))).toBe('TimeoutError')
    await sim.set({ mode: 'slow' })
    const slow = await get(sim, PATH)
    expect(slow.status).toBe(200)
    expect(slow.ms).toBeGreaterThanOrEqual(250)
    expect(json<{ eventCount: number }>(slow).eventCount).toBe(6)
    // Latencies far apart, so a loaded machine's own delays cannot blur them.
    await sim.set({ mode: 'up', latencyMs: 600 })
    const late = await get(sim, PATH)
    expect(late.status).toBe(200)
    expect(late.ms).toBeGreaterThanOrEqual(595)
    await sim.set({ latencyMs: 0 })
    expect((await get(sim, PATH)).ms).toBeLessThan(300)
  })

  it('control API: mode switch, auto-revert, tick, stats not counting itself', async () => {
    sim = await startSimUpstream({ changeEveryMs: false })
    const post = (path: string) => get(sim!, path, { method: 'POST' })
    expect((await post('/_sim/mode?mode=503')).status).toBe(200)
    expect((await get(sim, PATH)).status).toBe(503)
    expect((await post('/_sim/mode?mode=bogus')).status).toBe(400)
    // The control API answers before it closes the listener; the mode reverts after one second.
    expect((await post('/_sim/mode?mode=down-refuse&seconds=1')).status).toBe(200)
    await new Promise((r) => setTimeout(r, 50))
    expect(await failureOf(get(sim, PATH))).toBe('ECONNREFUSED')
    for (let i = 0; i < 120 && sim.mode !== 'up'; i++) await new Promise((r) => setTimeout(r, 25))
    expect((await get(sim, PATH)).status).toBe(200)
    const ticks = json<{ ticks: { changes: unknown[] }[] }>(await post('/_sim/tick?n=2'))
    expect(ticks.ticks).toHaveLength(2)
    expect(ticks.ticks[0]!.changes.length).toBeGreaterThan(0)
    expect((await post('/_sim/set?latencyMs=5&cacheControl=max-age%3D9')).status).toBe(200)
    const state = json<{ latencyMs: number; cacheControl: string }>(await get(sim, '/_sim/state'))
    expect(state).toMatchObject({ latencyMs: 5, cacheControl: 'max-age=9' })
    const stats = json<{ total: number; ticks: number }>(await get(sim, '/_sim/stats'))
    expect(stats).toMatchObject({ total: 2, ticks: 2 })
  })

  it('changes live data on its own timer', async () => {
    sim = await startSimUpstream({ changeEveryMs: 20 })
    for (let i = 0; i < 50 && sim.stats().ticks < 3; i++) await new Promise((r) => setTimeout(r, 20))
    expect(sim.stats().ticks).toBeGreaterThanOrEqual(3)
    expect(sim.changes.length).toBeGreaterThanOrEqual(3)
  })

  it('close() is prompt even with hung requests and kept-alive sockets', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, latencyMs: 5000 })
    const slow = failureOf(get(sim, PATH, {}, 10_000))
    await sim.set({ mode: 'hang' })
    const hung = failureOf(get(sim, PATH, {}, 10_000))
    await new Promise((r) => setTimeout(r, 50))
    const started = performance.now()
    await sim.close()
    expect(performance.now() - started).toBeLessThan(500)
    expect(await slow).not.toBe('no-failure')
    expect(await hung).not.toBe('no-failure')
  })
})
