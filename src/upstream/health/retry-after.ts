import { parseHttpDate } from '../../util/http-date.js'

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date (util/http-date.ts, strict: anything
 * else is garbage and yields undefined, never a guess).
 */

/**
 * How long the upstream asks us to wait, in ms (0 for a date in the past), or undefined when the
 * header is absent or not a valid Retry-After. With several values, the first counts.
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
