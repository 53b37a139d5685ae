/** The sim's in-memory database: generated seasons, live ticks, team writes, and a change log. */
import { generate } from './generate.js'
import { nextModified, tickAll } from './live.js'
import type { EventState, SeasonState, Team } from './model.js'
import { isLive } from './model.js'
import { createRng, type Rng, subSeed } from './prng.js'
import type { SimChange, SimEventInfo } from './types.js'

const CHANGE_LOG_SIZE = 10_000
const WRITABLE = ['nameFull', 'nameShort', 'robotName', 'schoolName', 'city'] as const
type Writable = (typeof WRITABLE)[number]

export type WriteResult =
  | { ok: true; status: 200 | 201 | 204; team?: Team }
  | { ok: false; status: 400 | 404; message: string }

export class SimDb {
  readonly seasons: SeasonState[]
  readonly currentSeason: number
  /** Bumped on every change; answers are memoized per generation. */
  generation = 0
  readonly changes: SimChange[] = []
  private readonly rng: Rng

  constructor(
    opts: { seed: number; seasons: number[]; teamsPerSeason: number },
    private readonly now: () => number,
    private readonly newMatchEveryTicks: number,
  ) {
    this.seasons = generate({ ...opts, nowMs: now() })
    this.currentSeason = Math.max(...opts.seasons)
    this.rng = createRng(subSeed(opts.seed, 'live'))
  }

  season(season: number): SeasonState | undefined {
    return this.seasons.find((s) => s.season === season)
  }

  event(season: number, code: string): EventState | undefined {
    const upper = code.toUpperCase()
    return this.season(season)?.events.find((e) => e.event.code === upper)
  }

  teamNumbers(season?: number): number[] {
    const s = this.season(season ?? this.currentSeason)
    return s ? [...s.teams.keys()].sort((a, b) => a - b) : []
  }

  /** Changes after sinceMs, optionally for one season and/or event. */
  changesSince(sinceMs: number, filter: { season?: number; event?: string }): SimChange[] {
    const event = filter.event?.toUpperCase()
    return this.changes.filter(
      (c) =>
        c.at > sinceMs &&
        (filter.season === undefined || c.season === filter.season) &&
        (event === undefined || c.event === event),
    )
  }

  tick(): SimChange[] {
    const changes = tickAll(this.seasons, {
      rng: this.rng,
      nowMs: this.now(),
      newMatchEveryTicks: this.newMatchEveryTicks,
    })
    this.log(changes)
    return changes
  }

  eventInfos(season?: number): SimEventInfo[] {
    const nowMs = this.now()
    return this.seasons
      .filter((s) => season === undefined || s.season === season)
      .flatMap((s) =>
        s.events.map((e) => ({
          season: s.season,
          code: e.event.code,
          name: e.event.name,
          dateStart: e.event.dateStart,
          dateEnd: e.event.dateEnd,
          live: isLive(e.event, nowMs),
        })),
      )
  }

  /** POST creates or updates, PUT creates or replaces the given fields, PATCH updates, DELETE removes. */
  writeTeam(season: number, teamNumber: number, method: string, body: unknown): WriteResult {
    const s = this.season(season)
    if (!s) return { ok: false, status: 404, message: `Season ${season} not found` }
    const existing = s.teams.get(teamNumber)
    const nowMs = this.now()
    if (method === 'DELETE') {
      if (!existing) return { ok: false, status: 404, message: `Team ${teamNumber} not found` }
      s.teams.delete(teamNumber)
      this.generation++
      return { ok: true, status: 204 }
    }
    if (!existing && method === 'PATCH')
      return { ok: false, status: 404, message: `Team ${teamNumber} not found` }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { ok: false, status: 400, message: 'Body must be a JSON object' }
    }
    const fields: Partial<Record<Writable, string>> = {}
    for (const [k, v] of Object.entries(body)) {
      if (!(WRITABLE as readonly string[]).includes(k)) continue
      if (typeof v !== 'string' || v.length > 200) {
        return { ok: false, status: 400, message: `${k} must be a string of at most 200 characters` }
      }
      fields[k as Writable] = v
    }
    if (Object.keys(fields).length === 0) {
      return { ok: false, status: 400, message: `Nothing to update; writable fields: ${WRITABLE.join(', ')}` }
    }
    const base: Team = existing ?? this.blankTeam(s, teamNumber)
    const team: Team = {
      ...base,
      ...fields,
      version: existing ? base.version + 1 : 1,
      modifiedAt: nextModified(base.modifiedAt, nowMs),
    }
    s.teams.set(teamNumber, team)
    this.generation++
    return { ok: true, status: existing ? 200 : 201, team }
  }

  private blankTeam(s: SeasonState, teamNumber: number): Team {
    const original = s.originalNames.get(teamNumber)
    return {
      teamNumber,
      nameFull: original?.nameFull ?? `Team ${teamNumber}`,
      nameShort: original?.nameShort ?? `Team ${teamNumber}`,
      schoolName: '',
      city: '',
      stateProv: '',
      country: '',
      rookieYear: s.season,
      robotName: '',
      homeRegion: '',
      displayLocation: '',
      version: 0,
      modifiedAt: new Date(0).toISOString(),
    }
  }

  private log(changes: SimChange[]): void {
    if (changes.length === 0) return
    this.generation++
    this.changes.push(...changes)
    if (this.changes.length > CHANGE_LOG_SIZE) this.changes.splice(0, this.changes.length - CHANGE_LOG_SIZE)
  }
}
