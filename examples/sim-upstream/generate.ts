/** Deterministic generation of seasons, teams, events and matches from a seed and a clock. */
import type { EventState, Match, MatchTeam, SeasonState, SimEvent, Team } from './model.js'
import { DAY_MS, isoDay } from './model.js'
import { EVENT_KINDS, REGIONS, SCHOOL_KINDS, TEAM_ADJECTIVES, TEAM_NOUNS } from './names.js'
import { createRng, type Rng, subSeed } from './prng.js'

const MATCH_GAP_MS = 8 * 60_000
/** Day offsets (from today, UTC) of the current season's events: 2 past, 2 live, 2 future. */
const CURRENT_DAYS: readonly (readonly [number, number])[] = [
  [-21, -20],
  [-7, -6],
  [-1, 1],
  [0, 0],
  [7, 8],
  [21, 22],
]

export interface GenerateOptions {
  seed: number
  seasons: number[]
  teamsPerSeason: number
  nowMs: number
}

export function generate(opts: GenerateOptions): SeasonState[] {
  const current = Math.max(...opts.seasons)
  const teamRng = createRng(subSeed(opts.seed, 'teams'))
  const staticAt = new Date(opts.nowMs - 30 * DAY_MS).toISOString()
  const teams = makeTeams(teamRng, opts.teamsPerSeason, staticAt)
  return opts.seasons.map((season) => {
    const rng = createRng(subSeed(opts.seed, `season:${season}`))
    const isCurrent = season === current
    const seasonTeams = new Map<number, Team>()
    const originalNames = new Map<number, { nameFull: string; nameShort: string }>()
    for (const t of teams) {
      seasonTeams.set(t.teamNumber, { ...t })
      originalNames.set(t.teamNumber, { nameFull: t.nameFull, nameShort: t.nameShort })
    }
    const today = Math.floor(opts.nowMs / DAY_MS) * DAY_MS
    const shift = isCurrent ? 0 : (current - season) * 364 * DAY_MS
    const regions = rng.shuffle(REGIONS)
    const numbers = [...seasonTeams.keys()]
    const events = CURRENT_DAYS.map(([from, to], i): EventState => {
      const region = regions[i % regions.length] ?? REGIONS[0]!
      const kind = i === CURRENT_DAYS.length - 1 ? EVENT_KINDS[2] : rng.pick([EVENT_KINDS[0], EVENT_KINDS[1]])
      const city = rng.pick(region.cities)
      const start = today + from * DAY_MS - shift
      const event: SimEvent = {
        eventId: uuidFrom(rng),
        code: `${region.code}${city.slice(0, 2).toUpperCase()}${kind.suffix}${i + 1}`,
        name: `${region.name} ${city} ${kind.typeName}${kind.suffix === 'C' ? '' : ` ${i + 1}`}`,
        type: kind.type,
        typeName: kind.typeName,
        regionCode: region.code,
        venue: `${city} ${rng.pick(SCHOOL_KINDS)}`,
        city,
        stateprov: region.stateProv,
        country: region.country,
        timezone: region.timezone,
        fieldCount: rng.int(1, 2),
        published: true,
        dateStart: isoDay(start),
        dateEnd: isoDay(today + to * DAY_MS - shift),
        version: 1,
        modifiedAt: staticAt,
      }
      const state: EventState = {
        season,
        event,
        teams: rng.shuffle(numbers).slice(0, rng.int(16, Math.min(24, numbers.length))),
        matches: [],
        ticks: 0,
        nextSlot: 0,
      }
      const endMs = today + (to + 1) * DAY_MS - shift
      if (endMs <= opts.nowMs) {
        // Past event: a complete qualification schedule, all final.
        const count = rng.int(18, 26)
        for (let n = 1; n <= count; n++) {
          const startAt = start + 9 * 3_600_000 + (n - 1) * MATCH_GAP_MS
          state.matches.push(newMatch(state, rng, startAt, true))
        }
      } else if (start <= opts.nowMs) {
        // Live event: some final matches, then one in progress that the ticks keep changing.
        const played = rng.int(4, 8)
        for (let n = 0; n <= played; n++) {
          const startAt = opts.nowMs - (played - n) * MATCH_GAP_MS - 120_000
          state.matches.push(newMatch(state, rng, startAt, n < played))
        }
        const last = state.matches[state.matches.length - 1]
        if (last) last.modifiedAt = new Date(opts.nowMs).toISOString()
      }
      return state
    })
    return { season, current: isCurrent, teams: seasonTeams, originalNames, events }
  })
}

function makeTeams(rng: Rng, count: number, at: string): Team[] {
  const numbers = new Set<number>()
  while (numbers.size < count) numbers.add(rng.int(100, 29_999))
  return [...numbers]
    .sort((a, b) => a - b)
    .map((teamNumber): Team => {
      const region = rng.pick(REGIONS)
      const city = rng.pick(region.cities)
      const nameShort = `${rng.pick(TEAM_ADJECTIVES)} ${rng.pick(TEAM_NOUNS)}`
      const schoolName = `${city} ${rng.pick(SCHOOL_KINDS)}`
      return {
        teamNumber,
        nameFull: `${schoolName} & ${nameShort} Robotics`,
        nameShort,
        schoolName,
        city,
        stateProv: region.stateProv,
        country: region.country,
        rookieYear: rng.int(2008, 2024),
        robotName: `${rng.pick(TEAM_NOUNS).slice(0, -1)}-${rng.int(1, 9)}`,
        homeRegion: region.code,
        displayLocation: [city, region.stateProv, region.country].filter(Boolean).join(', '),
        version: 1,
        modifiedAt: at,
      }
    })
}

/** Append-ready match: the next 4 teams of the event's rotation; scores drawn from rng. */
export function newMatch(state: EventState, rng: Rng, startAt: number, final: boolean): Match {
  const matchNumber = state.matches.length + 1
  const stations: MatchTeam['station'][] = ['Red1', 'Red2', 'Blue1', 'Blue2']
  const teams = stations.map((station): MatchTeam => {
    const teamNumber = state.teams[state.nextSlot % state.teams.length] ?? 0
    state.nextSlot++
    return { teamNumber, station, dq: false, onField: true }
  })
  const score = () =>
    final
      ? { auto: rng.int(0, 60), teleop: rng.int(10, 120), endgame: rng.int(0, 40), foul: rng.int(0, 2) * 5 }
      : { auto: rng.int(0, 30), teleop: 0, endgame: 0, foul: 0 }
  const posted = startAt + 6 * 60_000
  return {
    matchNumber,
    description: `Qualification ${matchNumber}`,
    tournamentLevel: 'QUALIFICATION',
    series: 0,
    status: final ? 'final' : 'in-progress',
    actualStartTime: new Date(startAt).toISOString(),
    postResultTime: final ? new Date(posted).toISOString() : null,
    red: score(),
    blue: score(),
    teams,
    version: 1,
    modifiedAt: new Date(final ? posted : startAt).toISOString(),
  }
}

function uuidFrom(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(0, 15).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
}
