import type { EntryInfo } from '../../model/entry.js'
import { ageOf, isFresh, isServableStale, ttlLeft } from '../../model/freshness.js'

export type EntryState = 'fresh' | 'stale' | 'expired'

/** fresh: served as is; stale: served while it refreshes; expired: kept only to stand in on errors. */
export function entryState(entry: EntryInfo, now: number): EntryState {
  if (isFresh(entry, now)) return 'fresh'
  if (isServableStale(entry, now)) return 'stale'
  return 'expired'
}

/** What a listing shows of one entry: metadata only, never the value. */
export function entrySummary(entry: EntryInfo, now: number) {
  const status = entry.meta?.status
  return {
    key: entry.key,
    state: entryState(entry, now),
    status: typeof status === 'number' ? status : null,
    size: entry.size,
    tags: entry.tags,
    ageSeconds: Math.floor(ageOf(entry, now) / 1000),
    ttlSeconds: Math.floor(ttlLeft(entry, now) / 1000),
    fetchedAt: iso(entry.fetchedAt),
    freshUntil: iso(entry.freshUntil),
    staleUntil: iso(entry.staleUntil),
    expiresAt: iso(entry.expiresAt),
  }
}

/** The full view of one entry: the summary plus validators, digest and the stored headers. */
export function entryDetail(entry: EntryInfo, now: number) {
  const headers = entry.meta?.headers
  return {
    ...entrySummary(entry, now),
    storedAt: iso(entry.storedAt),
    etag: entry.etag ?? null,
    lastModified: entry.lastModified ?? null,
    digest: entry.digest,
    headers: headerPairs(headers),
  }
}

function iso(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null
}

/** The gateway keeps headers as [name, value] pairs in entry.meta; anything else shows as none. */
function headerPairs(value: unknown): [string, string][] {
  if (!Array.isArray(value)) return []
  return value.filter(
    (pair): pair is [string, string] =>
      Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string',
  )
}
