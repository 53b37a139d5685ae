import type { Entry } from './entry.js'

type Windows = Pick<Entry, 'freshUntil' | 'staleUntil' | 'expiresAt'>

/** Fresh: served as is, nobody asks the source. */
export function isFresh(entry: Windows, now: number): boolean {
  return now < entry.freshUntil
}

/** Past fresh but inside the stale window: served at once while a background refresh runs. */
export function isServableStale(entry: Windows, now: number): boolean {
  return now >= entry.freshUntil && now < entry.staleUntil
}

/** Kept by the store only as a fallback when the source fails (stale-if-error). */
export function isServableOnError(entry: Windows, now: number): boolean {
  return now < entry.expiresAt
}

/** Gone for every purpose: the store may drop it. */
export function isExpired(entry: Windows, now: number): boolean {
  return now >= entry.expiresAt
}

/** Age in ms since the source last confirmed the value; never negative (clocks can step back). */
export function ageOf(entry: Pick<Entry, 'fetchedAt'>, now: number): number {
  return Math.max(0, now - entry.fetchedAt)
}

/** Remaining freshness in ms (0 once stale). */
export function ttlLeft(entry: Pick<Entry, 'freshUntil'>, now: number): number {
  return Math.max(0, entry.freshUntil - now)
}
