import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { fakeClock, get, json } from './helpers.js'

interface Match {
  matchNumber: number
  status: string
  scoreRedFinal: number
  scoreBlueFinal: number
  teams: { teamNumber: number; station: string }[]
  version: number
  modifiedAt: string
}
interface Event {
  code: string
  dateStart: string
  dateEnd: string
  version: number
}
interface Team {
  teamNumber: number
  nameShort: string
  version: number
}

describe('sim-upstream: data and HTTP caching', () => {
  const clock = fakeClock()
  let sim: SimUpstream
  beforeAll(async () => {
    sim = await startSimUpstream({ changeEveryMs: false, now: clock.now })
  })
  afterAll(() => sim.close())

  it('serves deterministic seasons, events, teams, matches, rankings and scores', async () => {
    const root = json<{ seasons: number[]; currentSeason: number }>(await get(sim, '/v2.0'))
    expect(root.seasons).toEqual([2024, 2025])
    expect(root.currentSeason).toBe(2025)
    const { events, eventCount } = json<{ events: Event[]; eventCount: number }>(
      await get(sim, '/v2.0/2025/events'),
    )
    expect(eventCount).toBe(6)
    expect(events[0]?.dateStart).toMatch(/^\d{4}-\d\d-\d\dT00:00:00Z$/)
    const live = sim.liveEvents()
    expect(live.map((e) => e.season)).toEqual([2025, 2025])
    expect(sim.events(2025).filter((e) => Date.parse(e.dateStart) > clock.now())).toHaveLength(2)
    expect(sim.events(2024).every((e) => !e.live)).toBe(true)
    const code = live[0]!.code
    const event = json<Event>(await get(sim, `/v2.0/2025/events/${code}`))
    expect(event.code).toBe(code)
    expect(Date.parse(event.dateStart)).toBeLessThanOrEqual(clock.now())
    const { matches } = json<{ matches: Match[] }>(await get(sim, `/v2.0/2025/matches/${code}`))
    expect(matches.length).toBeGreaterThan(3)
    expect(matches.at(-1)?.status).toBe('in-progress')
    expect(matches[0]?.teams.map((t) => t.station)).toEqual(['Red1', 'Red2', 'Blue1', 'Blue2'])
    const { rankings } = json<{ rankings: { rank: number; teamNumber: number }[] }>(
      await get(sim, `/v2.0/2025/rankings/${code}`),
    )
    expect(rankings[0]?.rank).toBe(1)
    const scores = json<{ matchScores: { matchNumber: number }[] }>(
      await get(sim, `/v2.0/2025/scores/${code}/2`),
    )
    expect(scores.matchScores.map((s) => s.matchNumber)).toEqual([2])
    const n = sim.teamNumbers()[0]!
    const byQuery = json<{ teams: Team[] }>(await get(sim, `/v2.0/2025/teams?teamNumber=${n}`))
    const byPath = json<Team>(await get(sim, `/v2.0/2025/teams/${n}`))
    expect(byQuery.teams[0]).toEqual(byPath)
    expect((await get(sim, '/v2.0/2025/teams/1')).status).toBe(404)
    expect((await get(sim, '/v2.0/1999/events')).status).toBe(404)
    expect((await get(sim, '/nope')).status).toBe(404)
    // Same seed and clock → byte-identical answers.
    const twin = await startSimUpstream({ changeEveryMs: false, now: clock.now })
    try {
      const a = await get(sim, '/v2.0/2024/teams')
      const b = await get(twin, '/v2.0/2024/teams')
      expect(a.headers.get('etag')).toBe(b.headers.get('etag'))
    } finally {
      await twin.close()
    }
  })

  it('answers 304 to If-None-Match and If-Modified-Since; a tick changes ETag and modifiedAt', async () => {
    const code = sim.liveEvents()[0]!.code
    const path = `/v2.0/2025/matches/${code}`
    const first = await get(sim, path)
    const etag = first.headers.get('etag')!
    const lastModified = first.headers.get('last-modified')!
    expect(etag).toMatch(/^"[\w-]+"$/)
    expect(Date.parse(lastModified)).toBeGreaterThan(0)
    sim.resetStats()
    const byTag = await get(sim, path, { headers: { 'if-none-match': etag } })
    expect(byTag.status).toBe(304)
    expect(byTag.text).toBe('')
    expect(byTag.headers.get('etag')).toBe(etag)
    const byDate = await get(sim, path, { headers: { 'if-modified-since': lastModified } })
    expect(byDate.status).toBe(304)
    expect(sim.stats().notModified).toBe(2)

    const before = json<{ matches: Match[] }>(first).matches
    clock.advance(1500)
    const { changes } = sim.tick()
    expect(changes.filter((c) => c.event === code).length).toBeGreaterThan(0)
    const after = await get(sim, path, { headers: { 'if-none-match': etag } })
    expect(after.status).toBe(200)
    expect(after.headers.get('etag')).not.toBe(etag)
    const stale = await get(sim, path, { headers: { 'if-modified-since': lastModified } })
    expect(stale.status).toBe(200)
    const changed = json<{ matches: Match[] }>(after).matches
    const m = changes.find((c) => c.event === code)!
    const was = before.find((x) => x.matchNumber === m.matchNumber)!
    const now = changed.find((x) => x.matchNumber === m.matchNumber)!
    expect(Date.parse(now.modifiedAt)).toBeGreaterThan(Date.parse(was.modifiedAt))
    expect(now.version).toBe(was.version + 1)
    expect(now.modifiedAt).toBe(new Date(m.at).toISOString())
    // The body served before the tick became stale at the first change after its newest modifiedAt.
    const newestBefore = Math.max(...before.map((x) => Date.parse(x.modifiedAt)))
    expect(sim.changesSince(newestBefore, { season: 2025, event: code })[0]?.at).toBe(m.at)
  })

  it('sends Cache-Control and Surrogate-Key when asked, and gzip when enabled', async () => {
    await sim.set({ cacheControl: 'public, max-age=30', surrogateKeys: true, compress: true })
    const n = sim.teamNumbers()[1]!
    const got = await get(sim, `/v2.0/2025/teams/${n}`)
    expect(got.headers.get('cache-control')).toBe('public, max-age=30')
    expect(got.headers.get('surrogate-key')).toBe(`season:2025 team:${n}`)
    expect(got.headers.get('content-encoding')).toBe('gzip')
    expect(json<Team>(got).teamNumber).toBe(n)
    await sim.set({ cacheControl: undefined, surrogateKeys: false, compress: false })
    expect((await get(sim, `/v2.0/2025/teams/${n}`)).headers.get('cache-control')).toBeNull()
  })

  it('passes writes through to a team and counts them', async () => {
    const n = sim.teamNumbers()[2]!
    sim.resetStats()
    const put = await get(sim, `/v2.0/2025/teams/${n}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nameShort: 'Renamed Robots' }),
    })
    expect(put.status).toBe(200)
    expect(json<Team>(put).version).toBe(2)
    expect(json<Team>(await get(sim, `/v2.0/2025/teams/${n}`)).nameShort).toBe('Renamed Robots')
    expect(
      (await get(sim, '/v2.0/2025/teams/77777', { method: 'PATCH', body: '{"nameShort":"x"}' })).status,
    ).toBe(404)
    expect((await get(sim, `/v2.0/2025/teams/${n}`, { method: 'PATCH', body: 'not json' })).status).toBe(400)
    expect((await get(sim, `/v2.0/2025/teams/${n}`, { method: 'DELETE' })).status).toBe(204)
    expect((await get(sim, `/v2.0/2025/teams/${n}`)).status).toBe(404)
    const post = await get(sim, `/v2.0/2025/teams/${n}`, {
      method: 'POST',
      body: '{"nameShort":"Back Again"}',
    })
    expect(post.status).toBe(201)
    expect(sim.stats().writes).toBe(5)
    expect(sim.stats().byMethod.GET).toBe(2)
  })

  it('serves /bytes/:n of exactly n bytes and /echo of what arrived', async () => {
    const b = await get(sim, '/bytes/1024')
    expect(Buffer.byteLength(b.text)).toBe(1024)
    expect(json<{ n: number }>(b).n).toBe(1024)
    expect((await get(sim, '/bytes/1024')).headers.get('etag')).toBe(b.headers.get('etag'))
    expect(Buffer.byteLength((await get(sim, '/bytes/65536')).text)).toBe(65536)
    const echo = json<{
      method: string
      path: string
      query: Record<string, string>
      headers: Record<string, string>
    }>(await get(sim, '/echo/a/b?x=1&key=k9', { headers: { authorization: 'Bearer t0k' } }))
    expect(echo).toMatchObject({ method: 'GET', path: '/echo/a/b', query: { x: '1', key: 'k9' } })
    expect(echo.headers.authorization).toBe('Bearer t0k')
    expect(sim.calls.at(-1)).toMatchObject({
      method: 'GET',
      url: '/echo/a/b?x=1&key=k9',
      key: 't0k',
      status: 200,
    })
  })
})
