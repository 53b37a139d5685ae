/** The simulated upstream's data model (JSON shapes close to the FTC Events API v2.0). */

export interface Team {
  teamNumber: number
  nameFull: string
  nameShort: string
  schoolName: string
  city: string
  stateProv: string
  country: string
  rookieYear: number
  robotName: string
  homeRegion: string
  displayLocation: string
  /** Incremented on every change (writes). */
  version: number
  /** ISO timestamp (ms precision) of the last change. */
  modifiedAt: string
}

export interface SimEvent {
  eventId: string
  code: string
  name: string
  type: string
  typeName: string
  regionCode: string
  venue: string
  city: string
  stateprov: string
  country: string
  timezone: string
  fieldCount: number
  published: boolean
  /** Midnight UTC of the first day, e.g. "2025-11-21T00:00:00Z". */
  dateStart: string
  /** Midnight UTC of the last day (the event is on until dateEnd + 24h). */
  dateEnd: string
  version: number
  modifiedAt: string
}

export interface AllianceScore {
  auto: number
  teleop: number
  endgame: number
  /** Penalty points awarded to this alliance (committed by the other one). */
  foul: number
}

export interface MatchTeam {
  teamNumber: number
  station: 'Red1' | 'Red2' | 'Blue1' | 'Blue2'
  dq: boolean
  onField: boolean
}

export interface Match {
  matchNumber: number
  description: string
  tournamentLevel: 'QUALIFICATION' | 'PLAYOFF'
  series: number
  /** 'final' once the score is posted, 'in-progress' while it still changes. */
  status: 'final' | 'in-progress'
  actualStartTime: string
  postResultTime: string | null
  red: AllianceScore
  blue: AllianceScore
  teams: MatchTeam[]
  version: number
  modifiedAt: string
}

export interface EventState {
  season: number
  event: SimEvent
  teams: number[]
  matches: Match[]
  /** Ticks applied to this event (drives when a new match is appended). */
  ticks: number
  /** Rotation of teams used to schedule the next match. */
  nextSlot: number
}

export interface SeasonState {
  season: number
  current: boolean
  teams: Map<number, Team>
  /** Generated names, restored on DELETE + POST. */
  originalNames: Map<number, { nameFull: string; nameShort: string }>
  events: EventState[]
}

export const DAY_MS = 86_400_000

export function isoDay(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 10)}T00:00:00Z`
}

/** An event is on from dateStart to the end of the dateEnd day (UTC). */
export function isLive(event: SimEvent, nowMs: number): boolean {
  return Date.parse(event.dateStart) <= nowMs && nowMs < Date.parse(event.dateEnd) + DAY_MS
}

export function total(a: AllianceScore): number {
  return a.auto + a.teleop + a.endgame + a.foul
}
