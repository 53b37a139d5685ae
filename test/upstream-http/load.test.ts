import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from '../gateway/harness.js'
import { rateLoad } from './rate-load.js'

const LIMIT = 20
// A token bucket lets `rate × W + burst` through in any window W, and the sim counts arrivals in fixed
// wall-clock seconds: budgeting 20/s with a burst of 1 lets 21 arrive in one of them now and then
// (measured: loopback jitter of a few ms moves the 21st call inside the edge) and draws a 429. So the
// budget keeps rate + burst at the limit: 19/s + 1.
const RATE = 19
const BURST = 1
const TARGET_RATE = 2000
const KEYS = 5000
const DURATION_MS = 6000

const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  sim:
    url: "\${SIM_ROOT}"
    budget: { rate: ${RATE}/s, burst: ${BURST}, maxWait: { foreground: 2s } }
    timeout: 5s
routes:
  - path: /load/:n
    upstream: sim
    to: /echo/:n
    ttl: 1h
`

describe('upstream budget under load (loopback)', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())

  it(`${TARGET_RATE} req/s over ${KEYS} uncached keys never push the upstream past ${LIMIT}/s`, async () => {
    h = await startHarness({ yaml, sim: { rateLimit: { perSecond: LIMIT } } })
    const result = await rateLoad({
      base: h.url,
      prefix: '/load/',
      keys: KEYS,
      rate: TARGET_RATE,
      durationMs: DURATION_MS,
      connections: 512,
      maxInFlight: 512,
      drainMs: 8000,
    })
    const stats = h.sim.stats()
    const seconds = stats.perSecond.map((s) => s.count)
    const achieved = Math.round(result.sent / (result.sendingMs / 1000))
    // The measured numbers, for the test log and docs/upstreams.md.
    console.log(
      JSON.stringify({
        targetRate: TARGET_RATE,
        achievedRate: achieved,
        ...result,
        upstream: {
          total: stats.total,
          perSecond: seconds,
          peak: stats.peakPerSecond,
          limited: stats.limited,
        },
      }),
    )

    // No hang, no transport error: every request that was sent was answered.
    expect(result.pending).toBe(0)
    expect(result.errors).toBe(0)
    // Only fresh answers (a MISS fetched now, or a HIT of a key fetched earlier in the run), STALE, or
    // 503 with Retry-After.
    for (const [outcome, count] of Object.entries(result.tally)) {
      expect(
        /^200 (MISS|HIT|STALE)$/.test(outcome) || outcome === '503 ERROR retry-after',
        `${count} × ${outcome}`,
      ).toBe(true)
    }
    // The upstream: no second above the limit (+ burst), and not one 429.
    expect(stats.peakPerSecond).toBeLessThanOrEqual(LIMIT)
    expect(stats.limited).toBe(0)
    expect(stats.byStatus['429'] ?? 0).toBe(0)
    // The budget, not the generator, was the bottleneck: most requests were refused, and the upstream
    // still got calls throughout (fewer than 19/s when a loaded machine runs the budget's timer late).
    expect(result.tally['503 ERROR retry-after'] ?? 0).toBeGreaterThan(result.sent / 2)
    expect(stats.total).toBeGreaterThanOrEqual(RATE * 2)
    expect(stats.total).toBeLessThanOrEqual(RATE * Math.ceil(result.sendingMs / 1000 + 3) + BURST)
  }, 30_000)
})
