import type { EntryInfo } from '../model/entry.js'
import { CisternError } from '../util/errors.js'
import type { MemoryRecord } from './memory-tier.js'

export type CacheStatus = 'hit' | 'miss' | 'stale' | 'revalidated' | 'error-stale'

export interface CacheResult<T> {
  value: T
  status: CacheStatus
  /**
   * Milliseconds since the source last confirmed the value. (HTTP's `Age` header is in seconds:
   * `Math.floor(ageMs / 1000)`.)
   */
  ageMs: number
  /**
   * The same as `ageMs`: MILLISECONDS, not seconds like HTTP's `Age`.
   * @deprecated Use `ageMs`, whose name says the unit; `age` stays for compatibility.
   */
  age: number
  /** When the source last confirmed the value (ms since the epoch). */
  fetchedAt: number
  entry: EntryInfo
  /** This caller waited on a fetch another caller started. */
  collapsed: boolean
  /** False when the factory said doNotStore(): the value was handed out but not kept. */
  stored: boolean
  /** With 'error-stale': why the source could not answer. */
  error?: unknown
}

/** Keys are non-empty strings up to `maxKeyLength` UTF-16 units (1024 by default). */
export function checkKey(key: string, max: number): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CisternError(
      'E_INVALID_KEY',
      `cache key must be a non-empty string, got ${JSON.stringify(key)}`,
    )
  }
  // Lone UTF-16 surrogates cannot be stored faithfully (SQLite turns them into U+FFFD, so two keys
  // could collide): refuse them instead.
  if (!key.isWellFormed()) {
    throw new CisternError('E_INVALID_KEY', 'cache key contains an unpaired UTF-16 surrogate')
  }
  if (key.length > max) {
    throw new CisternError('E_KEY_TOO_LONG', `cache key is ${key.length} characters; the maximum is ${max}`)
  }
}

export function result<T>(
  record: MemoryRecord<T>,
  status: CacheStatus,
  now: number,
  collapsed = false,
  extra?: { stored?: boolean; error?: unknown },
): CacheResult<T> {
  const { entry } = record
  return {
    value: record.value,
    status,
    ageMs: Math.max(0, now - entry.fetchedAt),
    age: Math.max(0, now - entry.fetchedAt),
    fetchedAt: entry.fetchedAt,
    entry,
    collapsed,
    stored: extra?.stored ?? true,
    ...(extra?.error !== undefined && { error: extra.error }),
  }
}
