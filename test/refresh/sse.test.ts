import { afterEach, describe, expect, it } from 'vitest'
import { type RefreshHarness, startRefreshHarness, until } from './helpers.js'
import { openSse, type SseClient } from './sse-client.js'

const yaml = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    tags: ["event:{event}"]
    refresh: { every: 1h }
    changes: { items: body.matches, id: item.matchNumber }
  - name: scores
    path: /ftc/:season/scores/:event
    ttl: 1h
    refresh: { every: 1h }
`

describe('refresh: the SSE change feed', () => {
  let h: RefreshHarness | undefined
  const clients: SseClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await h?.close()
  })

  /** One upstream tick, then refresh each key now, one after the other (so the order is known). */
  async function change(paths: string[]): Promise<void> {
    h!.sim.tick()
    for (const path of paths) {
      const done = () => h!.cistern.refresh.scheduler.snapshot().byPriority.normal.refreshed
      const before = done()
      expect(await h!.cistern.refresh.refresh({ path })).toEqual({ queued: 1 })
      await until(() => (done() > before ? true : undefined))
    }
  }

  it('answers other methods with a JSON 405 in the gateway error shape', async () => {
    h = await startRefreshHarness(yaml)
    const res = await fetch(`${h.url}/_cistern/changes`, { method: 'POST' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
    expect(await res.json()).toEqual({
      error: { code: 'method_not_allowed', message: 'POST is not allowed here' },
    })
  })

  it('delivers every change in order, filters by route and tag, and resumes after a reconnect without a gap', async () => {
    h = await startRefreshHarness(yaml)
    const { season, event } = h.live
    const matches = `/ftc/${season}/matches/${event}`
    const scores = `/ftc/${season}/scores/${event}`
    for (const p of [matches, scores]) expect((await h.get(p)).status).toBe(200)
    // Reads enroll the keys and capture the version they were served as the baseline.
    await until(() => (h!.cistern.refresh.scheduler.snapshot().keys === 2 ? true : undefined))

    const all = await openSse(`${h.url}/_cistern/changes`)
    const byTag = await openSse(`${h.url}/_cistern/changes?tag=event:${event}`)
    const byRoute = await openSse(`${h.url}/_cistern/changes?route=scores`)
    clients.push(all, byTag, byRoute)
    expect(all.status).toBe(200)
    for (let i = 0; i < 3; i++) await change([matches, scores])
    await all.waitFor(6)
    expect(all.events.map((e) => e.data.route)).toEqual([
      'matches',
      'scores',
      'matches',
      'scores',
      'matches',
      'scores',
    ])
    expect(all.events.map((e) => e.id)).toEqual(all.events.map((e) => e.data.id))
    await byTag.waitFor(3)
    expect(byTag.events.every((e) => e.data.route === 'matches')).toBe(true)
    await byRoute.waitFor(3)
    expect(byRoute.events.every((e) => e.data.route === 'scores')).toBe(true)
    const first = all.events[0]!.data
    expect(first).toMatchObject({ key: matches, url: h.url + matches, tags: [`event:${event}`] })
    expect((first.changed as unknown[]).length + (first.added as unknown[]).length).toBeGreaterThan(0)

    // Drop the connection after the second event; changes go on; reconnect with Last-Event-ID.
    const resumeFrom = all.events[1]!.id
    all.close()
    for (let i = 0; i < 2; i++) await change([matches, scores])
    const resumed = await openSse(`${h.url}/_cistern/changes`, { 'last-event-id': resumeFrom })
    clients.push(resumed)
    await resumed.waitFor(8)
    await change([matches])
    await resumed.waitFor(9)
    const ids = resumed.events.map((e) => e.id)
    expect(ids.slice(0, 4)).toEqual(all.events.slice(2).map((e) => e.id))
    expect(new Set(ids).size).toBe(ids.length)
    const feed = h.cistern.refresh.feed.stats()
    expect(feed.published).toBe(11)
    expect(feed.buffered).toBe(11)
    expect(ids.at(-1)).toBe(feed.lastEventId)
  }, 20_000)
})
