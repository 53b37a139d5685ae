import type { Entry } from './entry.js'

/**
 * Soft invalidation: the entry stops being fresh now but stays servable stale for what remains of
 * its windows, so readers get an answer at once while the refresh runs. An entry with no stale
 * window left keeps at least `minStale` ms so a soft purge never turns into a hard one by accident.
 */
export function softPurge<E extends Pick<Entry, 'freshUntil' | 'staleUntil' | 'expiresAt'>>(
  entry: E,
  now: number,
  minStale = 0,
): E {
  if (entry.freshUntil <= now && entry.staleUntil >= now + minStale) return entry
  const freshUntil = Math.min(entry.freshUntil, now)
  const staleUntil = Math.max(entry.staleUntil, now + minStale)
  const expiresAt = Math.max(entry.expiresAt, staleUntil)
  return { ...entry, freshUntil, staleUntil, expiresAt }
}
