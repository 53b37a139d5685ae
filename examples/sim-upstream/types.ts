/**
 * Public types of the simulated upstream: a sports-events JSON API in the style of the
 * FTC Events API (seasons, events, teams, matches, rankings, scores).
 */

/** How the upstream behaves right now. */
export type SimMode =
  /** Normal service. */
  | 'up'
  /** Listener closed and open sockets destroyed: new connections are refused (ECONNREFUSED). */
  | 'down-refuse'
  /** Listener open, every request's socket is destroyed without an answer (ECONNRESET / "socket hang up"). */
  | 'reset'
  /** 503 JSON with Retry-After (`retryAfterSec`). */
  | '503'
  /** 500 JSON. */
  | '500'
  /** 429 JSON with Retry-After for every request (independent of `rateLimit`). */
  | '429'
  /** 200 with an HTML error page (content-type text/html), like a maintenance page. */
  | 'html200'
  /** Accepts the request and never answers (until the mode changes or the sim closes). */
  | 'hang'
  /** Headers after the usual latency, then the body trickles out over `slowMs`. */
  | 'slow'

export const SIM_MODES: readonly SimMode[] = [
  'up',
  'down-refuse',
  'reset',
  '503',
  '500',
  '429',
  'html200',
  'hang',
  'slow',
]

export interface SimRateLimit {
  /** Requests admitted per wall-clock second (fixed one-second windows, like most real APIs). */
  perSecond: number
  /** Count separately per credential (Authorization header, `key` query param, X-Api-Key header). */
  perKey?: boolean
  /** Retry-After on the 429 (seconds, default 1). */
  retryAfterSec?: number
  /** A key (or the whole upstream when not perKey) that goes over is locked for retryAfterSec seconds. */
  lock?: boolean
}

export interface SimAuth {
  /** Accepted bearer tokens (`Authorization: Bearer <token>`). */
  bearer?: string[]
  /** Accepted basic credentials (`Authorization: Basic ...`). */
  basic?: { username: string; password: string } | { username: string; password: string }[]
  /** Accepted values of a custom header, e.g. `{ name: 'x-api-key', values: ['k1'] }`. */
  header?: { name: string; values: string[] }
  /** Accepted values of a query parameter, e.g. `{ name: 'key', values: ['k1'] }`. */
  query?: { name: string; values: string[] }
}

export interface SimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number
  /** Listen host, default 127.0.0.1. */
  host?: string
  /** PRNG seed for the generated data (default 2025). */
  seed?: number
  /** Seasons served (default [2024, 2025]); the last one is the current season with live events. */
  seasons?: number[]
  /** Teams per season (default 48). */
  teamsPerSeason?: number
  /** Clock used for event dates, modifiedAt and rate-limit seconds (default Date.now). */
  now?: () => number
  /** Live events change every this many ms; 0 or false disables the timer (use `tick()`). Default 5000. */
  changeEveryMs?: number | false
  /** Fixed latency before each answer (default 0). */
  latencyMs?: number
  /** Extra random latency in [0, jitterMs) (default 0). */
  jitterMs?: number
  /** In 'slow' mode, how long the body takes to trickle out (default 2000). */
  slowMs?: number
  /** Retry-After (seconds) on 503 answers in '503' mode (default 5). */
  retryAfterSec?: number
  /** Start in this mode (default 'up'). */
  mode?: SimMode
  /** Cache-Control on every API GET answer (200 and 304), or per path. */
  cacheControl?: string | ((path: string) => string | undefined)
  /** Add a Surrogate-Key header (space-separated tags); a string names another header, e.g. 'Cache-Tag'. */
  surrogateKeys?: boolean | string
  /** Send a strong ETag (default true). */
  etag?: boolean
  /** Send Last-Modified (default true). */
  lastModified?: boolean
  /** gzip API answers when the client accepts it (default false). */
  compress?: boolean
  /** Extra headers on every API answer (e.g. Set-Cookie, Vary, Expires). */
  extraHeaders?: Record<string, string>
  rateLimit?: SimRateLimit
  auth?: SimAuth
  /** How many requests `calls` keeps (default 500). */
  callLogSize?: number
  /** Append a new match to a live event every this many ticks (default 3). */
  newMatchEveryTicks?: number
}

/** Settings that can change at runtime with `sim.set()` or `POST /_sim/set`. */
export interface SimSettings {
  mode?: SimMode
  /** With `mode`: go back to 'up' after this many ms (handy with 'down-refuse' from curl). */
  revertAfterMs?: number
  latencyMs?: number
  jitterMs?: number
  slowMs?: number
  retryAfterSec?: number
  changeEveryMs?: number | false
  cacheControl?: string | ((path: string) => string | undefined) | undefined
  surrogateKeys?: boolean | string
  etag?: boolean
  lastModified?: boolean
  compress?: boolean
  extraHeaders?: Record<string, string>
  rateLimit?: SimRateLimit | undefined
  auth?: SimAuth | undefined
}

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
  readonly mode: SimMode
  /** The last `callLogSize` requests, oldest first (control API excluded). */
  readonly calls: readonly SimCall[]
  /** Bounded log of data changes (last 1000), oldest first. */
  readonly changes: readonly SimChange[]
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
