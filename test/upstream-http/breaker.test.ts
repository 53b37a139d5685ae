import { afterEach, describe, expect, it } from 'vitest'
import { startSimUpstream } from '../../examples/sim-upstream/index.js'
import { UpstreamFailure } from '../../src/upstream/client/failure.js'
import { type Harness, startHarness } from '../gateway/harness.js'
import { type ScriptedOrigin, startScriptedOrigin } from '../http/helpers.js'
import { rejection, upstreamFromYaml } from './upstream.js'

const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  ftc:
    url: "\${SIM_URL}"
    timeout: 2s
    breaker: { failures: 3, cooldown: 5s }
routes:
  - path: /matches/:event
    upstream: ftc
    to: /2025/matches/:event
    # Stale 200 ms after it was fetched: well inside the breaker's first wait (1 s) before a probe.
    ttl: 200ms
    stale: 0s
    staleIfError: 1d
`

describe('circuit breaker over HTTP', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())

  it('goes DOWN after `failures`, serves stale without touching the upstream, probes back UP', async () => {
    let offset = 0
    const now = () => Date.now() + offset
    h = await startHarness({ yaml, now })
    const upstream = h.gateway.upstreams.get('ftc')!
    const [a, b, c] = h.sim.events(2025)
    const cached = `/matches/${a!.code}`
    expect((await h.get(cached)).status).toBe(200)

    // The upstream fails: one cold GET and its two retries are the three failures that trip it.
    await h.sim.set({ mode: '500' })
    h.sim.resetStats()
    const failed = await h.get(`/matches/${b!.code}`)
    expect(failed.status).toBe(502)
    expect(h.sim.stats().total).toBe(3)
    const down = upstream.snapshot()
    expect(down.state).toBe('DOWN')
    expect(down.breaker.consecutiveFailures).toBe(3)
    expect(down.lastError?.message).toMatch(/answered 500/)
    expect(down.recentCalls.slice(-3).map((call) => call.outcome)).toEqual([
      'server-error',
      'server-error',
      'server-error',
    ])

    // Now a call that reached the upstream would hang for the whole 2 s timeout: none does.
    await h.sim.set({ mode: 'hang' })
    // Past the ttl, still inside the first wait (1 s) before a probe.
    offset += 500
    let started = performance.now()
    const stale = await h.get(cached)
    const staleMs = performance.now() - started
    expect(stale.status).toBe(200)
    expect(stale.headers.get('x-cache-status')).toBe('STALE')
    started = performance.now()
    const cold = await h.get(`/matches/${c!.code}`)
    const coldMs = performance.now() - started
    expect(cold.status).toBe(503)
    const retryAfter = Number(cold.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(5)
    expect(h.sim.stats().total).toBe(3)
    // Well under the 2 s a call to the hanging upstream would take (a few ms here; the margin is
    // for a loaded machine).
    expect(staleMs).toBeLessThan(1500)
    expect(coldMs).toBeLessThan(1500)
    expect(upstream.snapshot().refused?.breaker).toBe(2)

    // The upstream is back; after the cool-down the next call is the one probe, and it brings it UP.
    await h.sim.set({ mode: 'up' })
    offset += 5000
    const probed = await h.get(cached)
    expect(probed.status).toBe(200)
    expect(probed.headers.get('x-cache-status')).toBe('REVALIDATED')
    expect(h.sim.stats().total).toBe(4)
    expect(upstream.snapshot().state).toBe('UP')
    expect((await h.get(`/matches/${c!.code}`)).status).toBe(200)
  })

  it('a 200 with an HTML page where JSON is expected counts as a failure', async () => {
    h = await startHarness({ yaml })
    const upstream = h.gateway.upstreams.get('ftc')!
    await h.sim.set({ mode: 'html200' })
    const res = await h.get(`/matches/${h.sim.events(2025)[0]!.code}`)
    expect(res.status).toBe(502)
    const snap = upstream.snapshot()
    expect(snap.state).toBe('DOWN')
    expect(snap.recentCalls.map((call) => [call.status, call.outcome])).toEqual([
      [200, 'bad-response'],
      [200, 'bad-response'],
      [200, 'bad-response'],
    ])
  })

  it('a probe that gets no permit gives its turn to the next call instead of blocking until it times out', async () => {
    let offset = 0
    const now = () => Date.now() + offset
    const sim = await startSimUpstream({ changeEveryMs: false, mode: '500' })
    const upstream = upstreamFromYaml(
      sim.url,
      'retries: { max: 0 }\nbreaker: { failures: 1, cooldown: 1s }\nbudget: { rate: 1/10s, maxWait: { foreground: 1s } }',
      now,
    )
    const get = () => upstream.client.request({ method: 'GET', path: '/echo/1', lane: 'foreground' })
    try {
      await rejection(get())
      expect(upstream.snapshot().state).toBe('DOWN')
      await sim.set({ mode: 'up' })
      // The cool-down is over but the budget's next token is 9 s away: the probe is refused unsent.
      offset += 1000
      const refused = (await rejection(get())) as UpstreamFailure
      expect(refused).toBeInstanceOf(UpstreamFailure)
      expect(refused.message).toMatch(/no permit/)
      expect(upstream.snapshot().state).toBe('DOWN')
      expect(upstream.snapshot().breaker.nextProbeAt).toBeLessThanOrEqual(now())
      // Once a token is there, the very next call is the probe, and it brings the upstream UP.
      offset += 9000
      expect((await get()).status).toBe(200)
      expect(upstream.snapshot().state).toBe('UP')
      expect(sim.stats().total).toBe(2)
    } finally {
      await upstream.client.close()
      await sim.close()
    }
  })

  it('after a short outage, uncached requests are answered again within 5 s and /metrics shows it UP', async () => {
    // Virtual time: each step moves the breaker's clock 250 ms (the sim refuses at once, no waiting).
    let offset = 0
    const now = () => Date.now() + offset
    const yamlOutage = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  sim:
    url: "\${SIM_ROOT}"
    retries: { backoff: 1ms }
    breaker: { failures: 3, cooldown: 30s }
routes:
  - { path: /n/:n, upstream: sim, to: /echo/:n, ttl: 1h }
`
    h = await startHarness({
      yaml: yamlOutage,
      now,
      start: () => ({ admin: { env: {}, token: 'test-token' } }),
    })
    const upstream = h.gateway.upstreams.get('sim')!
    const metricUp = async () => {
      const res = await fetch(`${h!.cistern.adminUrl}/metrics`, {
        headers: { authorization: 'Bearer test-token' },
      })
      return /^cistern_upstream_up\{upstream="sim"\} (\d)/m.exec(await res.text())?.[1]
    }
    await h.sim.set({ mode: 'down-refuse' })
    const OUTAGE_MS = 5000
    const STEP_MS = 250
    let recoveredAt: number | undefined
    let wentDown = false
    // Bounded: 60 virtual seconds at most, one request per step, each on a key never fetched before.
    for (let step = 0; step * STEP_MS < 60_000 && recoveredAt === undefined; step++) {
      const at = step * STEP_MS
      if (at === OUTAGE_MS) await h.sim.set({ mode: 'up' })
      offset = at
      const res = await h.get(`/n/${step}`)
      if (at < OUTAGE_MS) {
        expect(res.status).toBe(503)
        wentDown ||= upstream.snapshot().state !== 'UP'
        if (wentDown) expect(await metricUp()).toBe('0')
      } else if (res.status === 200) recoveredAt = at
    }
    expect(wentDown).toBe(true)
    expect(recoveredAt).toBeDefined()
    console.log(
      `outage ${OUTAGE_MS} ms: answered again ${recoveredAt! - OUTAGE_MS} ms after the upstream came back`,
    )
    // Probes after 1, 2 and 4 s: the 5 s outage is over by the third, at 7 s.
    expect(recoveredAt! - OUTAGE_MS).toBeLessThanOrEqual(5000)
    expect(upstream.snapshot().state).toBe('UP')
    expect(await metricUp()).toBe('1')
  })

  it('on a route without a ttl, relayed 5xx answers still count: steady 503s open it, and clients got the upstream’s 503 until then', async () => {
    const origin: ScriptedOrigin = await startScriptedOrigin()
    try {
      origin.answer('/lb', () => ({ status: 503, headers: [['x-from', 'balancer']], body: 'no backend' }))
      h = await startHarness({
        yaml: `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  lb:
    url: "\${ORIGIN_URL}"
    expect: any
    breaker: { failures: 3, cooldown: 30s }
routes:
  - path: /*rest
    upstream: lb
`,
        env: { ORIGIN_URL: origin.url },
      })
      const upstream = h.gateway.upstreams.get('lb')!
      for (let i = 0; i < 3; i++) {
        const relayed = await h.get('/lb')
        // The upstream's own answer, relayed (not retried: one call each).
        expect([relayed.status, relayed.headers.get('x-from'), await relayed.text()]).toEqual([
          503,
          'balancer',
          'no backend',
        ])
      }
      expect(origin.seenFor('/lb')).toHaveLength(3)
      const down = upstream.snapshot()
      expect(down.state).toBe('DOWN')
      expect(down.breaker.consecutiveFailures).toBe(3)
      // Open: the next request is refused by cistern without reaching the upstream.
      const refused = await h.get('/lb')
      expect(refused.status).toBe(503)
      expect(refused.headers.get('x-from')).toBeNull()
      expect(origin.seenFor('/lb')).toHaveLength(3)
    } finally {
      await origin.close()
    }
  })
})
