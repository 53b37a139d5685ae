import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock } from '../support/fake-clock.js'
import { newestModified, percentile, type RefreshHarness, startRefreshHarness } from './helpers.js'

const yaml = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}", budget: { rate: 20/s, burst: 10 } }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1m
    stale: 1d
    refresh: { every: 2s, while: hot, priority: high }
`

describe('refresh: keep-warm freshness', () => {
  let h: RefreshHarness | undefined
  afterEach(() => h?.close())

  it('a hot key with every: 2s is never served older than 3 s at p99, against the upstream change log', async () => {
    // 15 s on a fake clock that the gateway, the scheduler and the simulator's changes share: a
    // client reads every 50 ms of it, and each refresh is answered before the clock moves on.
    const clock = new FakeClock(Date.now())
    h = await startRefreshHarness(yaml, { sim: { changeEveryMs: 1300 }, clock })
    const { season, event } = h.live
    const path = `/ftc/${season}/matches/${event}`
    const staleness: number[] = []
    const end = clock.now() + 15_000
    while (clock.now() < end) {
      const res = await h.get(path)
      const body = (await res.json()) as { matches: { modifiedAt: string }[] }
      const servedAt = clock.now()
      // The body became stale at the first upstream change after its newest item.
      const first = h.sim.changesSince(newestModified(body), { season, event })[0]
      staleness.push(first ? Math.max(0, servedAt - first.at) : 0)
      await h.advance(50)
    }
    const p50 = percentile(staleness, 0.5)
    const p99 = percentile(staleness, 0.99)
    console.log(
      `freshness: ${staleness.length} reads, p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...staleness)} ms`,
    )
    expect(staleness.length).toBeGreaterThan(100)
    expect(p99).toBeLessThanOrEqual(3000)
    const snapshot = h.cistern.refresh.scheduler.snapshot()
    expect(snapshot.byPriority.high.refreshed).toBeGreaterThanOrEqual(5)
    expect(h.cistern.refresh.feed.published).toBeGreaterThanOrEqual(5)
  }, 25_000)
})
