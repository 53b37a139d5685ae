import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.js'

const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc:
    url: "\${SIM_URL}"
    timeout: 1s
    # Retries stay on (a cold miss still tries three times); their jittered sleeps are not what this
    # test measures, and at the default 250 ms base they could take 750 ms of the 1 s allowance.
    retries: { backoff: 10ms }
routes:
  - path: /ftc/:season/matches/:event
    upstream: ftc
    to: /:season/matches/:event
    ttl: 1s
    stale: 0s
    staleIfError: 1d
`

describe('gateway: upstream outages', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())

  for (const mode of ['down-refuse', '503', '500', 'html200', 'hang'] as const) {
    it(`upstream ${mode}: stored keys are served STALE, uncached keys get a quick JSON error`, async () => {
      let now = Date.now()
      h = await startHarness({ yaml, now: () => now })
      const [a, b] = h.sim.events(2025)
      const cached = `/ftc/2025/matches/${a!.code}`
      const body = await (await h.get(cached)).text()
      await h.sim.set({ mode })
      now += 10_000

      const started = performance.now()
      const stale = await h.get(cached)
      expect(stale.status).toBe(200)
      expect(stale.headers.get('x-cache-status')).toBe('STALE')
      expect(stale.headers.get('cache-status')).toMatch(/^cistern; fwd=stale/)
      expect(stale.headers.get('age')).toBe('10')
      expect(await stale.text()).toBe(body)

      const cold = await h.get(`/ftc/2025/matches/${b!.code}`)
      const elapsed = performance.now() - started
      const expected = mode === '500' || mode === 'html200' ? 502 : mode === 'hang' ? 504 : 503
      expect(cold.status).toBe(expected)
      expect(cold.headers.get('content-type')).toMatch(/json/)
      const error = (await cold.json()) as { error: { code: string; message: string } }
      expect(error.error.code).toBe(
        { 502: 'upstream_bad_response', 503: 'upstream_unavailable', 504: 'upstream_timeout' }[expected],
      )
      if (expected === 503) expect(Number(cold.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      // Nothing hangs: the hanging upstream costs one timeout (1 s) per request at most.
      expect(elapsed).toBeLessThan(mode === 'hang' ? 2500 : 1000)
    })
  }

  it('serves fresh again once the upstream is back', async () => {
    let now = Date.now()
    h = await startHarness({ yaml, now: () => now })
    const path = `/ftc/2025/matches/${h.sim.events(2025)[0]!.code}`
    await h.get(path)
    await h.sim.set({ mode: 'down-refuse' })
    now += 5000
    expect((await h.get(path)).headers.get('x-cache-status')).toBe('STALE')
    await h.sim.set({ mode: 'up' })
    const back = await h.get(path)
    expect(back.headers.get('x-cache-status')).toBe('REVALIDATED')
  })
})
