import { afterEach, describe, expect, it } from 'vitest'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { fakeClock, get, json } from './helpers.js'

let sim: SimUpstream | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const burst = (s: SimUpstream, n: number, path: string, init: RequestInit = {}) =>
  Promise.all(Array.from({ length: n }, () => get(s, path, init)))

describe('sim-upstream: rate limit and auth', () => {
  it('answers 429 with Retry-After past the per-second limit and counts each second', async () => {
    const clock = fakeClock()
    sim = await startSimUpstream({ changeEveryMs: false, now: clock.now, rateLimit: { perSecond: 5 } })
    const first = await burst(sim, 12, '/v2.0/2025/events')
    expect(first.filter((r) => r.status === 200)).toHaveLength(5)
    const limited = first.filter((r) => r.status === 429)
    expect(limited).toHaveLength(7)
    expect(limited[0]?.headers.get('retry-after')).toBe('1')
    expect(json<{ errorCode: string }>(limited[0]!).errorCode).toBe('TOO_MANY_REQUESTS')
    clock.advance(1000)
    const second = await burst(sim, 3, '/v2.0/2025/events')
    expect(second.every((r) => r.status === 200)).toBe(true)
    const stats = sim.stats()
    const s0 = Math.floor((clock.now() - 1000) / 1000)
    expect(stats.perSecond.map(({ second, count, limited }) => ({ second, count, limited }))).toEqual([
      { second: s0, count: 12, limited: 7 },
      { second: s0 + 1, count: 3, limited: 0 },
    ])
    expect(stats).toMatchObject({
      total: 15,
      limited: 7,
      peakPerSecond: 12,
      byStatus: { '200': 8, '429': 7 },
    })
    expect(stats.byPath['/v2.0/2025/events']).toBe(15)
  })

  it('limits per key and locks a key that goes over, while other keys keep working', async () => {
    const clock = fakeClock()
    sim = await startSimUpstream({
      changeEveryMs: false,
      now: clock.now,
      rateLimit: { perSecond: 2, perKey: true, retryAfterSec: 3, lock: true },
      auth: { bearer: ['k1', 'k2'] },
    })
    const k1 = { headers: { authorization: 'Bearer k1' } }
    const k2 = { headers: { authorization: 'Bearer k2' } }
    const a = await burst(sim, 3, '/v2.0/2025/events', k1)
    expect(a.map((r) => r.status).sort()).toEqual([200, 200, 429])
    expect(a.find((r) => r.status === 429)?.headers.get('retry-after')).toBe('3')
    clock.advance(1000)
    const locked = await get(sim, '/v2.0/2025/events', k1)
    expect(locked.status).toBe(429)
    expect(locked.headers.get('retry-after')).toBe('2')
    expect((await burst(sim, 2, '/v2.0/2025/events', k2)).map((r) => r.status)).toEqual([200, 200])
    clock.advance(2000)
    expect((await get(sim, '/v2.0/2025/events', k1)).status).toBe(200)
    const stats = sim.stats()
    expect(stats.byKey).toEqual({ k1: 5, k2: 2 })
    expect(stats.perSecond[1]?.byKey).toEqual({ k1: 1, k2: 2 })
    sim.lockKey('k2', 10)
    expect((await get(sim, '/v2.0/2025/events', k2)).headers.get('retry-after')).toBe('10')
  })

  it('checks bearer, basic, header and query credentials: 401 without, 403 when wrong', async () => {
    sim = await startSimUpstream({
      changeEveryMs: false,
      auth: {
        bearer: ['good'],
        basic: { username: 'ftc', password: 'secret' },
        query: { name: 'key', values: ['qk'] },
        header: { name: 'x-api-key', values: ['hk'] },
      },
    })
    const missing = await get(sim, '/v2.0/2025/events')
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toMatch(/^Basic/)
    expect((await get(sim, '/v2.0/2025/events', { headers: { authorization: 'Bearer bad' } })).status).toBe(
      403,
    )
    expect((await get(sim, '/v2.0/2025/events', { headers: { authorization: 'Bearer good' } })).status).toBe(
      200,
    )
    const basic = `Basic ${Buffer.from('ftc:secret').toString('base64')}`
    expect((await get(sim, '/v2.0/2025/events', { headers: { authorization: basic } })).status).toBe(200)
    expect((await get(sim, '/v2.0/2025/events?key=qk')).status).toBe(200)
    expect((await get(sim, '/v2.0/2025/events', { headers: { 'x-api-key': 'hk' } })).status).toBe(200)
    // /echo is never auth-checked: it shows what reached the upstream.
    expect((await get(sim, '/echo')).status).toBe(200)
    expect(sim.stats().byKey).toMatchObject({ '-': 2, bad: 1, good: 1, ftc: 1, qk: 1, hk: 1 })
  })
})
