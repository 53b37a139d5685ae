/** Public result types of the simulated upstream (stats, calls, changes) and the SimUpstream handle. */
import type { Catalogue } from './catalogue.js'
import type { SimMode, SimSettings } from './options.js'

export type { SimAuth, SimMode, SimOptions, SimRateLimit, SimSettings } from './options.js'
export { SIM_MODES } from './options.js'

export interface SimSecondStats {
  /** Epoch second (Math.floor(ms / 1000)). */
  second: number
  /** Requests that arrived in that second (control API excluded). */
  count: number
  /** How many of them were answered 429 by the rate limit (or '429' mode). */
  limited: number
  /** Arrivals per credential key in that second. */
  byKey: Record<string, number>
}

export interface SimStats {
  total: number
  byPath: Record<string, number>
  byMethod: Record<string, number>
  byStatus: Record<string, number>
  /** Oldest first, bounded to the last 600 seconds. */
  perSecond: SimSecondStats[]
  /** Highest `count` in `perSecond`. */
  peakPerSecond: number
  byKey: Record<string, number>
  notModified: number
  writes: number
  limited: number
  /** Ticks (live changes) since start or the last reset. */
  ticks: number
}

export interface SimCall {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  /** Arrival time, ms since epoch. */
  at: number
  /** Credential label ('-' when none). */
  key: string
  /** Status once answered (undefined while pending, hung or reset). */
  status?: number
}

export interface SimChange {
  at: number
  season: number
  event: string
  matchNumber: number
  kind: 'score' | 'added'
  version: number
}

export interface SimTickResult {
  at: number
  changes: SimChange[]
}

export interface SimEventInfo {
  season: number
  code: string
  name: string
  dateStart: string
  dateEnd: string
  live: boolean
}

export interface SimUpstream {
  /** http://127.0.0.1:port */
  readonly url: string
  /** url + '/v2.0' — the API base an upstream config points at. */
  readonly apiUrl: string
  readonly port: number
  /** Where the control API stays reachable in every mode: the control port's URL if one was asked for, else url. */
  readonly controlUrl: string
  readonly mode: SimMode
  /** The last `callLogSize` requests, oldest first (control API excluded). */
  readonly calls: readonly SimCall[]
  /** The item catalogue (`GET /catalogue/items/:id`), when the sim was started with `catalogue`. */
  readonly catalogue: Catalogue | undefined
  /** Bounded log of data changes (last 10,000), oldest first. */
  readonly changes: readonly SimChange[]
  /**
   * Changes later than `sinceMs` (e.g. the newest `modifiedAt` in a body a client was served), optionally
   * for one event: the first one's `at` is when that body became stale, for freshness measurements.
   */
  changesSince(sinceMs: number, filter?: { season?: number; event?: string }): SimChange[]
  /** Change settings now; resolves once the listener state matches (down-refuse / up). */
  set(settings: SimSettings): Promise<void>
  /** Apply one round of live changes now. */
  tick(): SimTickResult
  stats(): SimStats
  resetStats(): void
  /** Events of a season (default: all seasons), with `live` computed against the clock. */
  events(season?: number): SimEventInfo[]
  liveEvents(): SimEventInfo[]
  /** A team number that exists in every season. */
  teamNumbers(season?: number): number[]
  /** Lock a credential key (429 with Retry-After) for `seconds`. */
  lockKey(key: string, seconds: number): void
  /** Stop the timer, destroy every socket, close the listener. */
  close(): Promise<void>
}
