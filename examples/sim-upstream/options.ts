/**
 * Options and runtime settings of the simulated upstream: a sports-events JSON API in the style of the
 * FTC Events API (seasons, events, teams, matches, rankings, scores).
 */

import type { CatalogueOptions } from './catalogue.js'

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
  /**
   * Also serve the control API (/_sim/…) on its own port (0 = random), which stays up in 'down-refuse'
   * so that a curl user can bring the upstream back. Default: control API on the main port only.
   */
  controlPort?: number
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
  /**
   * Write date-times in bodies without a zone (`2025-11-21T00:00:00`), as the real FTC Events API
   * does, instead of RFC 3339 with `Z` (default false). The values are the same UTC instants.
   */
  localDates?: boolean
  /** How many requests `calls` keeps (default 500). */
  callLogSize?: number
  /** Append a new match to a live event every this many ticks (default 3). */
  newMatchEveryTicks?: number
  /** Also serve `GET /catalogue/items/:id`: many items changing at known rates (catalogue.ts). */
  catalogue?: CatalogueOptions
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
