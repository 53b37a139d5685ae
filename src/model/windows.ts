import type { Entry } from './entry.js'

export interface WindowOptions {
  /** Fresh for this many ms after fetchedAt. */
  ttl: number
  /** After that, servable stale (with background refresh) for this many ms. */
  stale: number
  /** After freshUntil, kept as a fallback for source errors for this many ms. */
  staleIfError: number
  /** Fraction 0..1: shortens ttl by up to this share at random so keys written together expire apart. */
  jitter: number
}

/** The freshness windows of a value confirmed at `fetchedAt`. `random` is injectable for tests. */
export function computeWindows(
  fetchedAt: number,
  options: WindowOptions,
  random: () => number = Math.random,
): Pick<Entry, 'freshUntil' | 'staleUntil' | 'expiresAt'> {
  const ttl = jitteredTtl(options.ttl, options.jitter, random)
  const freshUntil = fetchedAt + ttl
  const staleUntil = freshUntil + options.stale
  const expiresAt = Math.max(staleUntil, freshUntil + options.staleIfError)
  return { freshUntil, staleUntil, expiresAt }
}

/** ttl minus up to `jitter` of it; the spread avoids a herd of refreshes at one instant. */
export function jitteredTtl(ttl: number, jitter: number, random: () => number = Math.random): number {
  if (jitter <= 0 || ttl <= 0) return ttl
  const share = Math.min(1, jitter)
  return Math.round(ttl - ttl * share * random())
}
