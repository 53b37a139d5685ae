/**
 * Recipe 2, end to end: examples/nif-precache/cistern.yaml in front of the simulated data.nif.no, over
 * real HTTP with the SQLite store in a temp dir. The promises of the team's precache module: the
 * seasons → tournaments → root tournaments' matches tree is fetched and polled every 3 minutes from
 * start with nobody reading; matches are diffed by id; changed matches' details are fetched at once;
 * the OAuth token is cistern's business; UP/DOWN is in Prometheus; every call is in the call log.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type NifSim, startNifSim } from '../../examples/nif-precache/upstream.js'
import type { ChangeEvent } from '../../src/refresh/index.js'
import { type RecipeHarness, startRecipeHarness, until } from './helpers.js'

const SECRET = 'nif-client-secret-value'

describe('recipe: NIF sports precache', () => {
  let sim: NifSim | undefined
  let h: RecipeHarness | undefined
  afterEach(async () => {
    await h?.close()
    await sim?.close()
    h = sim = undefined
  })

  it('precaches the tree from start, diffs matches by id, warms changed details, reports UP/DOWN and calls', async () => {
    // A small tree (per season one root tournament, its child group and 3 matches): the budget is 10/s.
    sim = await startNifSim({
      clientId: 'precache',
      clientSecret: SECRET,
      perSecond: 100,
      divisions: 1,
      matchesPerTournament: 3,
    })
    const started = Date.now()
    h = await startRecipeHarness('nif-precache', {
      NIF_API_URL: sim.apiUrl,
      NIF_TOKEN_URL: sim.tokenUrl,
      NIF_CLIENT_ID: 'precache',
      NIF_CLIENT_SECRET: SECRET,
    })
    const { data } = sim
    const seasons = data.seasons.filter((s) => s.seasonYear >= 2024)
    const roots = data.tournaments.filter(
      (t) => t.parentTournamentId === null && seasons.some((s) => s.seasonId === t.seasonId),
    )
    const kept = [
      '/nif/sports/72/seasons',
      '/nif/sports/151/seasons',
      ...seasons.map((s) => `/nif/seasons/${s.seasonId}/tournaments`),
      ...roots.map((t) => `/nif/tournaments/${t.tournamentId}/matches`),
    ]
    const { scheduler, warmer } = h.cistern.refresh

    // 1. With no client request at all, the whole tree is fetched and scheduled every 3 minutes.
    await until(() => (scheduler.snapshot().keys === kept.length ? true : undefined), 8000)
    const rootMatches = data.matches.filter((m) => roots.some((t) => t.tournamentId === m.tournamentId))
    await until(async () => {
      await warmer.idle()
      const held = await Promise.all(
        rootMatches
          .flatMap((m) => [`/nif/matches/${m.matchId}`, `/nif/matches/${m.matchId}/incidents`])
          .map((key) => h!.cistern.gateway.cache.peek(key)),
      )
      return held.every(Boolean) ? true : undefined
    }, 8000)
    for (const key of kept) {
      const due = scheduler.nextRefresh(key)
      expect(due, key).toBeDefined()
      expect(due! - started).toBeGreaterThanOrEqual(180_000 - 1000)
      expect(due! - started).toBeLessThan(180_000 + 15_000)
    }
    // Child groups and seasons before 2024 are never fetched; every call carried one shared token.
    const paths = sim.calls.map((c) => c.url)
    for (const child of data.tournaments.filter((t) => t.parentTournamentId !== null)) {
      expect(paths).not.toContain(`/api/v1/ta/TournamentMatches?tournamentId=${child.tournamentId}`)
    }
    expect(paths.filter((p) => p.includes('/Tournament/Season/')).sort()).toEqual(
      seasons.map((s) => `/api/v1/ta/Tournament/Season/${s.seasonId}/`).sort(),
    )
    expect(sim.calls.every((c) => c.status === 200)).toBe(true)
    expect(sim.tokens).toEqual({ issued: 1, refused: 0 })

    // A reader gets the precached list from cistern's store: a HIT, no upstream call.
    const tournament = roots.find((t) => t.seasonId === 1512025)!
    const listPath = `/nif/tournaments/${tournament.tournamentId}/matches`
    const before = sim.calls.length
    const list = await h.get(listPath)
    expect(list.headers.get('x-cache-status')).toBe('HIT')
    await list.arrayBuffer()
    expect(sim.calls.length).toBe(before)

    // 2. A goal, and the token revoked meanwhile: the next poll (forced now through the admin API
    // rather than waited for) renews the token, reports the changed match by id and fetches its details.
    const match = data.matchesOf(tournament.tournamentId)!.find((m) => m.matchStatusId === 1)!
    data.score(match.matchId)
    sim.revokeTokens()
    const events: ChangeEvent[] = []
    const stop = h.cistern.refresh.feed.subscribe((e) => events.push(e), { route: 'nif-matches' })
    const polled = sim.calls.length
    const refresh = await h.api('/refresh', { method: 'POST', body: JSON.stringify({ key: listPath }) })
    expect(refresh.status).toBe(202)
    const event = await until(() => events[0])
    stop()
    expect(event).toMatchObject({ route: 'nif-matches', key: listPath, added: [], removed: [] })
    expect(event.changed).toEqual([match.matchId])
    await until(() =>
      sim!.calls.slice(polled).some((c) => c.url === `/api/v1/ta/match/?matchId=${match.matchId}`)
        ? true
        : undefined,
    )
    await warmer.idle()
    // Only the changed match's details and incidents were fetched again; the new token was fetched once.
    await until(() =>
      sim!.calls.slice(polled).some((c) => c.url === `/api/v1/ta/matchincidents/?matchId=${match.matchId}`)
        ? true
        : undefined,
    )
    const detailCalls = sim.calls
      .slice(polled)
      .filter((c) => /^\/api\/v1\/ta\/match(incidents)?\//.test(c.url))
    expect(detailCalls.map((c) => c.url).sort()).toEqual([
      `/api/v1/ta/match/?matchId=${match.matchId}`,
      `/api/v1/ta/matchincidents/?matchId=${match.matchId}`,
    ])
    expect(sim.tokens.issued).toBe(2)
    const details = await h.get(`/nif/matches/${match.matchId}`)
    expect(details.headers.get('x-cache-status')).toBe('HIT')
    expect(((await details.json()) as { match: { homeGoals: number } }).match.homeGoals).toBe(1)
    const incidents = await h.get(`/nif/matches/${match.matchId}/incidents`)
    expect(incidents.headers.get('x-cache-status')).toBe('HIT')
    expect(((await incidents.json()) as { incidents: unknown[] }).incidents).toHaveLength(1)

    // 3. The call log (admin API): each call with its URL and status, never the token or the secret.
    const upstreams = (await (await h.api('/upstreams?calls=200')).json()) as {
      upstreams: { name: string; auth: string; recentCalls: { calls: { url: string; status?: number }[] } }[]
    }
    const nif = upstreams.upstreams.find((u) => u.name === 'nif')!
    expect(nif.auth).toBe('oauth2')
    const calls = nif.recentCalls.calls
    expect(calls.map((c) => `${c.status} ${new URL(c.url).pathname}`)).toContain(
      `401 /api/v1/ta/TournamentMatches`,
    )
    expect(calls.some((c) => c.url.endsWith(`/match/?matchId=${match.matchId}`))).toBe(true)
    const everything = JSON.stringify(upstreams) + h.logs.join('\n')
    expect(everything).not.toContain(SECRET)

    // 4. UP/DOWN in Prometheus: an outage opens the breaker after 3 failed polls; readers still get data.
    const up = async () =>
      /cistern_upstream_up\{upstream="nif"\} (\d)/.exec(await (await h!.api('/metrics')).text())?.[1]
    expect(await up()).toBe('1')
    sim.setDown(true)
    await h.api('/refresh', { method: 'POST', body: JSON.stringify({ prefix: '/nif/sports/' }) })
    await h.api('/refresh', { method: 'POST', body: JSON.stringify({ prefix: '/nif/seasons/' }) })
    await until(async () => ((await up()) === '0' ? true : undefined), 8000)
    const stale = await h.get(listPath)
    expect(stale.status).toBe(200)
    expect(['HIT', 'STALE']).toContain(stale.headers.get('x-cache-status'))
  }, 20_000)
})
