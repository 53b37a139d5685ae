/** The /v2.0 routes: pure functions from (method, path, query, body) to a status, a JSON body and metadata. */
import type { SimDb } from './db.js'
import type { EventState } from './model.js'
import { matchView, rankingsView, scoreView } from './views.js'

export interface ApiResult {
  status: number
  /** undefined → no body (204). */
  body?: unknown
  /** Newest change among the resources in the answer (ms), for Last-Modified. */
  lastModifiedMs?: number
  /** Surrogate keys / cache tags for the answer. */
  tags?: string[]
}

const TEAMS_PAGE_SIZE = 100
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function apiError(status: number, message: string): ApiResult {
  const code = status === 404 ? 'NOT_FOUND' : status === 400 ? 'BAD_REQUEST' : `HTTP_${status}`
  return { status, body: { errorCode: code, message, source: 'sim-upstream' } }
}

const newest = (isoDates: string[]): number | undefined =>
  isoDates.length === 0 ? undefined : Math.max(...isoDates.map((d) => Date.parse(d)))

export function handleApi(
  db: SimDb,
  method: string,
  segments: string[],
  query: URLSearchParams,
  body: unknown,
): ApiResult {
  const [root, seasonRaw, resource, id, extra] = segments
  if (root !== 'v2.0' || segments.length > 5) return apiError(404, 'Not found')
  if (seasonRaw === undefined) {
    if (method !== 'GET') return apiError(405, 'Method not allowed')
    return {
      status: 200,
      body: {
        name: 'cistern sim-upstream (FTC Events style)',
        apiVersion: '2.0',
        status: 'normal',
        currentSeason: db.currentSeason,
        maxSeason: db.currentSeason,
        seasons: db.seasons.map((s) => s.season),
      },
      lastModifiedMs: newest(db.seasons.flatMap((s) => s.events.map((e) => e.event.modifiedAt))),
    }
  }
  const season = Number(seasonRaw)
  const s = Number.isInteger(season) ? db.season(season) : undefined
  if (!s) return apiError(404, `Season ${seasonRaw} not found`)
  const isTeamResource = resource === 'teams' && id !== undefined && extra === undefined
  if (WRITE_METHODS.has(method)) {
    if (!isTeamResource) return apiError(405, 'Only /v2.0/:season/teams/:team accepts writes')
    const n = Number(id)
    if (!Number.isInteger(n) || n <= 0) return apiError(400, `Invalid team number ${id}`)
    const r = db.writeTeam(season, n, method, body)
    if (!r.ok) return apiError(r.status, r.message)
    return { status: r.status, body: r.team, tags: [`team:${n}`, `teams:${season}`] }
  }
  if (method !== 'GET') return apiError(405, 'Method not allowed')
  const seasonTag = `season:${season}`
  if (resource === undefined) {
    return {
      status: 200,
      body: {
        season,
        gameName: `SIM GAME ${season}`,
        kickoff: `${season}-09-06T00:00:00Z`,
        eventCount: s.events.length,
        teamCount: s.teams.size,
      },
      lastModifiedMs: newest(s.events.map((e) => e.event.modifiedAt)),
      tags: [seasonTag],
    }
  }
  if (resource === 'events' && id === undefined) {
    let events = s.events
    const code = query.get('eventCode')
    const team = query.get('teamNumber')
    if (code) events = events.filter((e) => e.event.code === code.toUpperCase())
    if (team) events = events.filter((e) => e.teams.includes(Number(team)))
    return {
      status: 200,
      body: { events: events.map((e) => e.event), eventCount: events.length },
      lastModifiedMs: newest(s.events.map((e) => e.event.modifiedAt)),
      tags: [seasonTag, 'events'],
    }
  }
  if (resource === 'teams') return teams(db, season, id, extra, query)
  const e = id === undefined ? undefined : db.event(season, id)
  if (!e) return apiError(404, `Event ${id ?? ''} not found in season ${season}`)
  const eventTags = [seasonTag, `event:${e.event.code}`]
  if (resource === 'events' && extra === undefined) {
    return { status: 200, body: e.event, lastModifiedMs: Date.parse(e.event.modifiedAt), tags: eventTags }
  }
  const eventLm = newest([e.event.modifiedAt, ...e.matches.map((m) => m.modifiedAt)])
  if (resource === 'matches' && extra === undefined) {
    const matches = filterMatches(e, query, undefined).map(matchView)
    return { status: 200, body: { matches }, lastModifiedMs: eventLm, tags: eventTags }
  }
  if (resource === 'scores') {
    const scores = filterMatches(e, query, extra).map(scoreView)
    return { status: 200, body: { matchScores: scores }, lastModifiedMs: eventLm, tags: eventTags }
  }
  if (resource === 'rankings' && extra === undefined) {
    let rankings = rankingsView(e, (n) => s.teams.get(n)?.nameShort ?? '')
    const team = query.get('teamNumber')
    const top = Number(query.get('top') ?? '0')
    if (team) rankings = rankings.filter((r) => r.teamNumber === Number(team))
    if (top > 0) rankings = rankings.slice(0, top)
    return { status: 200, body: { rankings }, lastModifiedMs: eventLm, tags: eventTags }
  }
  return apiError(404, 'Not found')
}

function teams(
  db: SimDb,
  season: number,
  id: string | undefined,
  extra: string | undefined,
  query: URLSearchParams,
): ApiResult {
  const s = db.season(season)!
  if (extra !== undefined) return apiError(404, 'Not found')
  const wanted = id ?? query.get('teamNumber') ?? undefined
  if (wanted !== undefined) {
    const n = Number(wanted)
    if (!Number.isInteger(n) || n <= 0) return apiError(400, `Invalid team number ${wanted}`)
    const team = s.teams.get(n)
    if (!team) return apiError(404, `Team ${n} not found in season ${season}`)
    const tags = [`season:${season}`, `team:${n}`]
    const lastModifiedMs = Date.parse(team.modifiedAt)
    if (id !== undefined) return { status: 200, body: team, lastModifiedMs, tags }
    const body = { teams: [team], teamCountTotal: 1, teamCountPage: 1, pageCurrent: 1, pageTotal: 1 }
    return { status: 200, body, lastModifiedMs, tags }
  }
  let list = [...s.teams.values()].sort((a, b) => a.teamNumber - b.teamNumber)
  const code = query.get('eventCode')
  if (code) {
    const e = db.event(season, code)
    if (!e) return apiError(404, `Event ${code} not found in season ${season}`)
    list = list.filter((t) => e.teams.includes(t.teamNumber))
  }
  const pageTotal = Math.max(1, Math.ceil(list.length / TEAMS_PAGE_SIZE))
  const page = Math.min(Math.max(1, Number(query.get('page') ?? '1') || 1), pageTotal)
  const pageTeams = list.slice((page - 1) * TEAMS_PAGE_SIZE, page * TEAMS_PAGE_SIZE)
  return {
    status: 200,
    body: {
      teams: pageTeams,
      teamCountTotal: list.length,
      teamCountPage: pageTeams.length,
      pageCurrent: page,
      pageTotal,
    },
    lastModifiedMs: newest(list.map((t) => t.modifiedAt)),
    tags: [`season:${season}`, `teams:${season}`],
  }
}

/** Filters: tournamentLevel, teamNumber, matchNumber, start, end; `levelOrMatch` is 'qual' | 'playoff' | a number. */
function filterMatches(e: EventState, query: URLSearchParams, levelOrMatch: string | undefined) {
  let matches = e.matches
  const level = (
    levelOrMatch && !/^\d+$/.test(levelOrMatch) ? levelOrMatch : query.get('tournamentLevel')
  )?.toLowerCase()
  if (level && level !== 'all') {
    const wanted = level.startsWith('qual') ? 'QUALIFICATION' : 'PLAYOFF'
    matches = matches.filter((m) => m.tournamentLevel === wanted)
  }
  const number = levelOrMatch && /^\d+$/.test(levelOrMatch) ? levelOrMatch : query.get('matchNumber')
  if (number) matches = matches.filter((m) => m.matchNumber === Number(number))
  const team = query.get('teamNumber')
  if (team) matches = matches.filter((m) => m.teams.some((t) => t.teamNumber === Number(team)))
  const start = Number(query.get('start') ?? '0')
  const end = Number(query.get('end') ?? '0')
  if (start > 0) matches = matches.filter((m) => m.matchNumber >= start)
  if (end > 0) matches = matches.filter((m) => m.matchNumber <= end)
  return matches
}
