import { type HeaderBag, headerValue } from '../../util/headers.js'
import { parseHttpDate } from '../../util/http-date.js'
import { type BackoffOptions, backoffDelay } from './backoff.js'
import type { CallOutcome, Verdict } from './outcome.js'

export interface ClassifyOptions {
  /** Clock for HTTP-date Retry-After values. */
  now: number
  /** Statuses that mean "this credential is refused" and pause the key, e.g. [403]. */
  keyRejectStatuses?: readonly number[]
  /** Pause for a refused key without Retry-After (default 60 s). */
  keyRejectPauseMs?: number
  /** Backoff for a 429 without Retry-After (default 1 s doubling to 60 s, equal jitter). */
  backoff?: BackoffOptions
  /** How many 429s in a row this key has had, this one included (default 1). */
  attempt?: number
  random?: () => number
  /** No pause longer than this, whatever the upstream says (default 1 h). */
  maxPauseMs?: number
  /** The body is not what the route expects (an HTML error page where JSON was due). */
  invalidBody?: boolean
}

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504])
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 60_000, jitter: 'equal' }

/**
 * What one upstream answer means: 429 pauses the key (Retry-After, else backoff); a configured status
 * (403 "invalid IP") pauses the key; 503 with Retry-After pauses the upstream; 5xx is a breaker
 * failure; any other answer shows the upstream is up.
 */
export function classifyResponse(
  status: number,
  headers: HeaderBag | undefined,
  options: ClassifyOptions,
): Verdict {
  const maxPauseMs = options.maxPauseMs ?? 3_600_000
  const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'), options.now)
  const withHeader = retryAfterMs === undefined ? {} : { retryAfterMs }
  const cap = (ms: number) => Math.min(ms, maxPauseMs)
  if (status === 429) {
    const backoff = backoffDelay(options.attempt ?? 1, options.backoff ?? DEFAULT_BACKOFF, options.random)
    const fromHeader = retryAfterMs !== undefined
    const ms = cap(retryAfterMs ?? backoff)
    const reason = fromHeader ? `429, Retry-After ${Math.ceil(ms / 1000)}s` : '429, backing off'
    return {
      outcome: 'rate-limited',
      breaker: 'success',
      retryable: true,
      pause: { scope: 'key', ms, reason, fromHeader },
      ...withHeader,
    }
  }
  if (options.keyRejectStatuses?.includes(status)) {
    const ms = cap(retryAfterMs ?? options.keyRejectPauseMs ?? 60_000)
    const pause = {
      scope: 'key' as const,
      ms,
      reason: `${status}: key refused`,
      fromHeader: retryAfterMs !== undefined,
    }
    return { outcome: 'key-rejected', breaker: 'success', retryable: true, pause, ...withHeader }
  }
  if (status >= 500) {
    const outcome: CallOutcome = status === 503 ? 'unavailable' : 'server-error'
    const verdict: Verdict = {
      outcome,
      breaker: 'failure',
      retryable: RETRYABLE_STATUSES.has(status),
      ...withHeader,
    }
    if (status === 503 && retryAfterMs !== undefined) {
      const ms = cap(retryAfterMs)
      verdict.pause = {
        scope: 'upstream',
        ms,
        reason: `503, Retry-After ${Math.ceil(ms / 1000)}s`,
        fromHeader: true,
      }
    }
    return verdict
  }
  if (options.invalidBody && status < 300) {
    return { outcome: 'bad-response', breaker: 'failure', retryable: true, ...withHeader }
  }
  if (status >= 400) {
    return {
      outcome: 'client-error',
      breaker: 'success',
      retryable: RETRYABLE_STATUSES.has(status),
      ...withHeader,
    }
  }
  return { outcome: 'ok', breaker: 'success', retryable: false }
}

/**
 * Retry-After (RFC 9110 §10.2.3): how long the upstream asks us to wait, in ms (0 for a date in the
 * past), or undefined when the header is absent or not a valid Retry-After. Delay-seconds or an
 * HTTP-date (util/http-date.ts, strict: anything else is garbage and yields undefined, never a
 * guess). With several values, the first counts.
 */
export function parseRetryAfter(
  header: string | readonly string[] | null | undefined,
  now: number,
): number | undefined {
  const raw = typeof header === 'string' ? header : header?.[0]
  if (raw === undefined) return undefined
  const text = raw.trim()
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000
    return Number.isFinite(ms) ? Math.min(ms, Number.MAX_SAFE_INTEGER) : undefined
  }
  const at = parseHttpDate(text, now)
  return at === undefined ? undefined : Math.max(0, at - now)
}
