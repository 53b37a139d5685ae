import { afterEach, describe, expect, it } from 'vitest'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import type { UpstreamFailure } from '../../src/upstream/client/failure.js'
import type { Upstream } from '../../src/upstream/create-upstream.js'
import { rejection, upstreamFromYaml } from './upstream.js'

describe('retries, pauses and the call log over HTTP', () => {
  let sim: SimUpstream | undefined
  let upstream: Upstream | undefined
  afterEach(async () => {
    await upstream?.client.close()
    await sim?.close()
    sim = upstream = undefined
  })

  it('retries reads with backoff, never writes', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, mode: '500' })
    upstream = upstreamFromYaml(sim.url, 'retries: { max: 2, backoff: 20ms }')
    const read = await rejection(
      upstream.client.request({ method: 'GET', path: '/echo/r', lane: 'foreground' }),
    )
    expect((read as UpstreamFailure).status).toBe(500)
    expect(sim.stats().byMethod).toEqual({ GET: 3 })
    const body = Buffer.from('{}')
    await rejection(upstream.client.request({ method: 'POST', path: '/echo/w', body, lane: 'foreground' }))
    expect(sim.stats().byMethod).toEqual({ GET: 3, POST: 1 })
    expect(upstream.snapshot().recentCalls.map((call) => `${call.method} ${call.status}`)).toEqual([
      'GET 500',
      'GET 500',
      'GET 500',
      'POST 500',
    ])
  })

  it('503 with Retry-After pauses the whole upstream: the next call is refused without being sent', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, mode: '503', retryAfterSec: 2 })
    upstream = upstreamFromYaml(sim.url, 'retries: { max: 0 }\nbudget: { maxWait: { foreground: 1s } }')
    const first = (await rejection(
      upstream.client.request({ method: 'GET', path: '/echo/1', lane: 'foreground' }),
    )) as UpstreamFailure
    expect(first.kind).toBe('unavailable')
    expect(first.retryAfterMs).toBe(2000)
    const [key] = upstream.snapshot().budget!.keys
    expect(key!.pausedUntil! - Date.now()).toBeGreaterThan(1500)
    expect(key!.pauseReason).toMatch(/503, Retry-After 2s/)
    const second = (await rejection(
      upstream.client.request({ method: 'GET', path: '/echo/2', lane: 'foreground' }),
    )) as UpstreamFailure
    expect(second.kind).toBe('unavailable')
    expect(second.retryAfterMs).toBeGreaterThan(1500)
    expect(sim.stats().total).toBe(1)
    expect(upstream.snapshot().refused?.budget).toBe(1)
  })

  it('a pauseOn status (403) pauses the refused key; the pool carries on with the other', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, auth: { bearer: ['good'] } })
    upstream = upstreamFromYaml(sim.apiUrl, 'auth: { bearer: [revoked, good] }\npauseOn: [403]')
    for (let i = 0; i < 3; i++) {
      const res = await upstream.client.request({ method: 'GET', path: '/2025/events', lane: 'foreground' })
      expect(res.status).toBe(200)
    }
    expect(sim.stats().byKey).toEqual({ revoked: 1, good: 3 })
    const [revoked, good] = upstream.snapshot().budget!.keys
    expect(revoked!.pauseReason).toMatch(/403/)
    expect(good!.pausedUntil).toBeUndefined()
  })

  it('logs every call with its lane and key, and no secret in the URL', async () => {
    sim = await startSimUpstream({
      changeEveryMs: false,
      auth: { query: { name: 'key', values: ['s3cret'] } },
    })
    upstream = upstreamFromYaml(sim.apiUrl, 'auth: { query: { name: key, value: s3cret } }')
    const query = new URLSearchParams({ token: 'also-secret', page: '2' })
    await upstream.client.request({ method: 'GET', path: '/2025/events', query, lane: 'background' })
    const [call] = upstream.snapshot().recentCalls
    expect(call).toMatchObject({ method: 'GET', status: 200, lane: 'background', keyIndex: 0, outcome: 'ok' })
    expect(call!.url).toBe(`${sim.apiUrl}/2025/events?token=[REDACTED]&page=2&key=[REDACTED]`)
    expect(call!.durationMs).toBeGreaterThanOrEqual(0)
    const text = JSON.stringify(upstream.snapshot())
    expect(text).not.toContain('s3cret')
    expect(text).not.toContain('also-secret')
  })
})
