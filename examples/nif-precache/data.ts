/**
 * The data of the simulated data.nif.no tournament API ("TA"): sports → seasons → tournaments (a root
 * tournament and its child groups) → matches, with the field names the real API uses (camelCase,
 * `…Id` numbers, local date-times without a zone). Deterministic for a seed; `score()` and
 * `addMatch()` change it the way a match day does.
 */
import { createRng, subSeed } from '../sim-upstream/prng.js'

export interface NifSeason {
  seasonId: number
  seasonName: string
  seasonYear: number
  seasonDateFrom: string
  seasonDateTo: string
  sportId: number
  sportName: string
}

export interface NifTournament {
  tournamentId: number
  tournamentName: string
  tournamentNo: string
  seasonId: number
  /** null for a root tournament; a child group points at its root. */
  parentTournamentId: number | null
  fromDate: string
  toDate: string
}

export interface NifMatch {
  matchId: number
  matchNo: string
  tournamentId: number
  matchStartDate: string
  homeTeamId: number
  homeTeam: string
  awayTeamId: number
  awayTeam: string
  homeGoals: number | null
  awayGoals: number | null
  /** 1 not started, 2 in play, 3 played. */
  matchStatusId: number
  lastChangeDate: string
}

export const SPORTS: Readonly<Record<number, string>> = { 72: 'Bandy', 151: 'Innebandy' }
const YEARS = [2023, 2024, 2025]
const TEAMS = ['Stabæk', 'Solberg', 'Ready', 'Mjøndalen', 'Sarpsborg', 'Drammen', 'Høvik', 'Ullevål']

/** Local date-time without a zone, as the API writes them. */
const local = (ms: number) => new Date(ms).toISOString().slice(0, 19)

export class NifData {
  readonly seasons: NifSeason[] = []
  readonly tournaments: NifTournament[] = []
  readonly matches: NifMatch[] = []
  readonly #now: () => number
  #nextMatchId = 7_000_000

  /** `size`: root tournaments per season (each with one child group), and matches per root tournament. */
  constructor(seed: number, now: () => number, size = { divisions: 2, matches: 4 }) {
    this.#now = now
    const rng = createRng(subSeed(seed, 'nif'))
    const at = local(now())
    let tournamentId = 400_000
    for (const [sport, sportName] of Object.entries(SPORTS)) {
      const sportId = Number(sport)
      for (const year of YEARS) {
        const seasonId = sportId * 10_000 + year
        this.seasons.push({
          seasonId,
          seasonName: `${sportName} ${year}/${year + 1}`,
          seasonYear: year,
          seasonDateFrom: `${year}-07-01T00:00:00`,
          seasonDateTo: `${year + 1}-06-30T00:00:00`,
          sportId,
          sportName,
        })
        for (let division = 1; division <= size.divisions; division++) {
          const root = ++tournamentId
          const common = {
            seasonId,
            fromDate: `${year}-09-01T00:00:00`,
            toDate: `${year + 1}-03-31T00:00:00`,
          }
          this.tournaments.push({
            tournamentId: root,
            tournamentName: `${sportName} ${division}. divisjon menn`,
            tournamentNo: `${sportId}-${year}-${division}`,
            parentTournamentId: null,
            ...common,
          })
          // A child group: the API lists it, its matches are the root's, so a precache skips it.
          this.tournaments.push({
            tournamentId: ++tournamentId,
            tournamentName: `${sportName} ${division}. divisjon menn, avdeling A`,
            tournamentNo: `${sportId}-${year}-${division}A`,
            parentTournamentId: root,
            ...common,
          })
          for (let n = 1; n <= size.matches; n++) {
            const [home, away] = rng.shuffle(TEAMS)
            const played = year < 2025 || n <= 2
            this.matches.push({
              matchId: ++this.#nextMatchId,
              matchNo: `${root}-${n}`,
              tournamentId: root,
              matchStartDate: `${year}-10-${String(n * 3).padStart(2, '0')}T18:00:00`,
              homeTeamId: TEAMS.indexOf(home!) + 100,
              homeTeam: home!,
              awayTeamId: TEAMS.indexOf(away!) + 100,
              awayTeam: away!,
              homeGoals: played ? rng.int(0, 6) : null,
              awayGoals: played ? rng.int(0, 6) : null,
              matchStatusId: played ? 3 : 1,
              lastChangeDate: at,
            })
          }
        }
      }
    }
  }

  seasonsOf(sportId: number): NifSeason[] {
    return this.seasons.filter((s) => s.sportId === sportId)
  }

  tournamentsOf(seasonId: number): NifTournament[] | undefined {
    if (!this.seasons.some((s) => s.seasonId === seasonId)) return undefined
    return this.tournaments.filter((t) => t.seasonId === seasonId)
  }

  matchesOf(tournamentId: number): NifMatch[] | undefined {
    if (!this.tournaments.some((t) => t.tournamentId === tournamentId)) return undefined
    return this.matches.filter((m) => m.tournamentId === tournamentId)
  }

  match(matchId: number): NifMatch | undefined {
    return this.matches.find((m) => m.matchId === matchId)
  }

  /** A goal in a match (it goes in play if it was not): the match list and its details change. */
  score(matchId: number, side: 'home' | 'away' = 'home'): NifMatch {
    const match = this.match(matchId)
    if (!match) throw new Error(`no match ${matchId}`)
    match.homeGoals = (match.homeGoals ?? 0) + (side === 'home' ? 1 : 0)
    match.awayGoals = (match.awayGoals ?? 0) + (side === 'away' ? 1 : 0)
    match.matchStatusId = 2
    match.lastChangeDate = local(this.#now())
    return match
  }

  /** A match added to a root tournament's schedule. */
  addMatch(tournamentId: number): NifMatch {
    const sample = this.matchesOf(tournamentId)?.[0]
    if (!sample) throw new Error(`no root tournament ${tournamentId} with matches`)
    const match: NifMatch = {
      ...sample,
      matchId: ++this.#nextMatchId,
      matchNo: `${tournamentId}-${this.matchesOf(tournamentId)!.length + 1}`,
      homeGoals: null,
      awayGoals: null,
      matchStatusId: 1,
      lastChangeDate: local(this.#now()),
    }
    this.matches.push(match)
    return match
  }
}
