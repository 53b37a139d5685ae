import { afterEach, describe, expect, it } from 'vitest'
import { type RefreshHarness, startRefreshHarness, until } from './helpers.js'

const yaml = (all: boolean) => `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    refresh: { every: 1h }
    changes: { items: body.matches, id: item.matchNumber }
    warm: { each: body.matches, path: "/ftc/{params.season}/match/{event}/{item.matchNumber}", all: ${all} }
  - name: match
    path: /ftc/:season/match/:event/:number
    to: /:season/matches/:event?matchNumber=:number
    ttl: 1h
  - name: events
    path: /ftc/:season/events
    ttl: 1h
    prewarm: ["/ftc/2024/events", "/ftc/2025/events"]
`

describe('refresh: warming', () => {
  let h: RefreshHarness | undefined
  afterEach(() => h?.close())

  async function changeAndWarm(path: string): Promise<{ changed: number[]; warmed: number[] }> {
    const refresh = h!.cistern.refresh
    const events: { changed: unknown[]; added: unknown[] }[] = []
    const stop = refresh.feed.subscribe((e) => events.push(e))
    const before = h!.sim.calls.length
    h!.sim.tick()
    await refresh.refreshPath(path)
    await until(() => (events.length > 0 ? true : undefined))
    stop()
    await refresh.warmer.idle()
    const warmed = h!.sim.calls
      .slice(before)
      .map((c) => new URL(c.url, 'http://x').searchParams.get('matchNumber'))
      .filter((n): n is string => n !== null)
      .map(Number)
    const e = events[0]!
    return { changed: [...e.added, ...e.changed] as number[], warmed: warmed.sort((a, b) => a - b) }
  }

  it('fetches the derived path of each changed item, in the background, and prewarms at start', async () => {
    h = await startRefreshHarness(yaml(false))
    // Prewarm: both paths were fetched at start with no client read.
    await h.cistern.refresh.warmer.idle()
    for (const season of [2024, 2025])
      expect(await h.cistern.gateway.cache.peek(`/ftc/${season}/events`)).toBeDefined()

    const { season, event } = h.live
    const path = `/ftc/${season}/matches/${event}`
    await (await h.get(path)).text()
    await until(() => (h!.cistern.refresh.scheduler.snapshot().keys === 1 ? true : undefined))
    const { changed, warmed } = await changeAndWarm(path)
    expect(changed.length).toBeGreaterThan(0)
    expect(warmed).toEqual([...changed].sort((a, b) => a - b))
    for (const n of changed) {
      const res = await h.get(`/ftc/${season}/match/${event}/${n}`)
      expect(res.headers.get('x-cache-status')).toBe('HIT')
    }
    expect(h.cistern.refresh.warmer.stats()).toMatchObject({ warmed: changed.length + 2, failed: 0 })
  }, 15_000)

  it('all: true warms every item after a change', async () => {
    h = await startRefreshHarness(yaml(true))
    const { season, event } = h.live
    const path = `/ftc/${season}/matches/${event}`
    const body = (await (await h.get(path)).json()) as { matches: unknown[] }
    await until(() => (h!.cistern.refresh.scheduler.snapshot().keys === 1 ? true : undefined))
    const { warmed } = await changeAndWarm(path)
    expect(warmed.length).toBeGreaterThanOrEqual(body.matches.length)
  }, 15_000)
})

describe('refresh: what cistern warms on its own is kept warm', () => {
  let h: RefreshHarness | undefined
  afterEach(() => h?.close())

  it('a prewarmed list is scheduled from start, and its first copy warms (and schedules) what it lists', async () => {
    h = await startRefreshHarness(`
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: events
    path: /ftc/:season/events
    ttl: 1h
    refresh: { every: 1h, while: always }
    prewarm: ["/ftc/2025/events"]
    warm: { each: body.events, path: "/ftc/{params.season}/matches/{item.code}" }
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    refresh: { every: 30m, while: always }
`)
    const codes = h.sim.events(2025).map((e) => e.code)
    const { scheduler } = h.cistern.refresh
    // No client read anything: the prewarm and the cascade under it did all of this.
    await until(() => (scheduler.snapshot().keys === 1 + codes.length ? true : undefined))
    await h.cistern.refresh.warmer.idle()
    const now = Date.now()
    expect(scheduler.nextRefresh('/ftc/2025/events')! - now).toBeGreaterThan(59 * 60_000)
    for (const code of codes) {
      expect(scheduler.nextRefresh(`/ftc/2025/matches/${code}`)! - now).toBeGreaterThan(29 * 60_000)
      expect(await h.cistern.gateway.cache.peek(`/ftc/2025/matches/${code}`)).toBeDefined()
    }
    // Each path was fetched once: a cascade runs on a key's first copy only.
    const paths = h.sim.calls.map((c) => new URL(c.url, 'http://x').pathname)
    expect(paths.sort()).toEqual(
      ['/v2.0/2025/events', ...codes.map((code) => `/v2.0/2025/matches/${code}`)].sort(),
    )
  }, 15_000)
})
