import type { Entry, EntryInfo, EntryMeta } from '../../model/entry.js'
import type { TextEntry } from '../store.js'

/** Metadata columns in table order; `value` is read only by get(). */
export const INFO_COLUMNS =
  'key, stored_at, fetched_at, fresh_until, stale_until, expires_at, etag, last_modified, digest, tags, size, meta'

/**
 * A metadata row as better-sqlite3 returns it in raw mode: an array in INFO_COLUMNS order. Raw rows
 * skip building a keyed object per row, which is a fifth of get()'s cost for a 1 KB value.
 */
export type InfoRow = [
  key: string,
  storedAt: number,
  fetchedAt: number,
  freshUntil: number,
  staleUntil: number,
  expiresAt: number,
  etag: string | null,
  lastModified: string | null,
  digest: string,
  tags: string,
  size: number,
  meta: string | null,
]

/** INFO_COLUMNS followed by value. */
export type EntryRow = [...InfoRow, value: Buffer]

/** INFO_COLUMNS followed by value read as TEXT. */
export type TextRow = [...InfoRow, text: string]

/** Named parameters for the upsert statement. */
export interface EntryParams {
  key: string
  stored_at: number
  fetched_at: number
  fresh_until: number
  stale_until: number
  expires_at: number
  etag: string | null
  last_modified: string | null
  digest: string
  tags: string
  size: number
  meta: string | null
  value: Uint8Array
}

const NO_TAGS = '[]'

export function toParams(entry: Entry): EntryParams {
  return {
    key: entry.key,
    stored_at: entry.storedAt,
    fetched_at: entry.fetchedAt,
    fresh_until: entry.freshUntil,
    stale_until: entry.staleUntil,
    expires_at: entry.expiresAt,
    etag: entry.etag ?? null,
    last_modified: entry.lastModified ?? null,
    digest: entry.digest,
    tags: entry.tags.length === 0 ? NO_TAGS : JSON.stringify(entry.tags),
    size: entry.size,
    meta: entry.meta === undefined ? null : JSON.stringify(entry.meta),
    value: entry.value,
  }
}

export function toInfo(row: InfoRow | EntryRow | TextRow): EntryInfo {
  const [key, storedAt, fetchedAt, freshUntil, staleUntil, expiresAt, etag, lastModified, digest, tags] = row
  const info: EntryInfo = {
    key,
    storedAt,
    fetchedAt,
    freshUntil,
    staleUntil,
    expiresAt,
    digest,
    // Most entries carry no tags; skipping JSON.parse for them is measurable on the hot path.
    tags: tags === NO_TAGS ? [] : (JSON.parse(tags) as string[]),
    size: row[10],
  }
  // Optional fields are left out rather than set to undefined, so entries round-trip exactly.
  if (etag !== null) info.etag = etag
  if (lastModified !== null) info.lastModified = lastModified
  if (row[11] !== null) info.meta = JSON.parse(row[11]) as EntryMeta
  return info
}

export function toEntry(row: EntryRow): Entry {
  const entry = toInfo(row) as Entry
  entry.value = row[12]
  return entry
}

const encoder = new TextEncoder()

/**
 * An entry whose value came back as text. Its bytes are encoded only when something reads `value`
 * (a revalidation storing the same value again); a JSON reader never does. A class with a prototype
 * getter, because an own accessor (defineProperty, or a getter in an object literal) costs about
 * 1 µs to create in V8, which is all the text read saves. A spread of it drops `value`: the engine
 * reads text only with its memory tier off, so the entry never outlives the read that made it.
 */
class TextBackedEntry implements TextEntry {
  readonly key: string
  readonly storedAt: number
  readonly fetchedAt: number
  readonly freshUntil: number
  readonly staleUntil: number
  readonly expiresAt: number
  readonly etag?: string
  readonly lastModified?: string
  readonly digest: string
  readonly tags: string[]
  readonly size: number
  readonly meta?: EntryMeta
  readonly text: string
  #bytes: Uint8Array | undefined

  constructor(row: TextRow) {
    const info = toInfo(row)
    this.key = info.key
    this.storedAt = info.storedAt
    this.fetchedAt = info.fetchedAt
    this.freshUntil = info.freshUntil
    this.staleUntil = info.staleUntil
    this.expiresAt = info.expiresAt
    if (info.etag !== undefined) this.etag = info.etag
    if (info.lastModified !== undefined) this.lastModified = info.lastModified
    this.digest = info.digest
    this.tags = info.tags
    this.size = info.size
    if (info.meta !== undefined) this.meta = info.meta
    this.text = row[12]
  }

  get value(): Uint8Array {
    this.#bytes ??= encoder.encode(this.text)
    return this.#bytes
  }
}

export function toTextEntry(row: TextRow): TextEntry {
  return new TextBackedEntry(row)
}
