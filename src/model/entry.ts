/**
 * The entry model: a value as bytes plus what cistern knows about it. Every store persists exactly
 * these fields; policy (fresh? servable stale?) is computed from them by the pure functions beside this file
 * (freshness.ts, windows.ts, soft-purge.ts, cost.ts), which the engine and every store share.
 * All times are milliseconds since the epoch.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** Opaque metadata the layer above the engine keeps with an entry (the gateway: status and headers). */
export type EntryMeta = { [key: string]: JsonValue }

export interface Entry {
  key: string
  /** The value, serialized. */
  value: Uint8Array
  /** When this copy was written to the store. */
  storedAt: number
  /** When the source last confirmed this value (a fetch, or a 304 revalidation). */
  fetchedAt: number
  /** Until when the value is fresh and served without asking the source. */
  freshUntil: number
  /** Until when the value may still be served stale while a refresh runs in the background. */
  staleUntil: number
  /** Until when the store keeps it at all: max(staleUntil, freshUntil + staleIfError). */
  expiresAt: number
  etag?: string
  lastModified?: string
  /** Content hash of `value` (sha256, base64url); compared on refresh to detect changes. */
  digest: string
  tags: string[]
  /** Size of `value` in bytes. */
  size: number
  meta?: EntryMeta
}

/** An entry without its value: what listings and admin views return. */
export type EntryInfo = Omit<Entry, 'value'>

export function entryInfo(entry: Entry): EntryInfo {
  const { value: _value, ...info } = entry
  return info
}
