import { hash } from 'node:crypto'
import type { Entry } from '../../model/entry.js'
import { computeWindows } from '../../model/windows.js'
import type { Codec } from '../codec.js'
import type { ResolvedEntryOptions } from '../options.js'
import type { ResultOptions } from './context.js'

/** The options a fresh value is stored with: the call's, then whatever the factory said. */
export function mergeResultOptions(
  base: ResolvedEntryOptions,
  overrides: ResultOptions | undefined,
  parse: (overrides: ResultOptions) => ResolvedEntryOptions,
): ResolvedEntryOptions {
  if (!overrides) return base
  const parsed = parse(overrides)
  return {
    ttl: overrides.ttl === undefined ? base.ttl : parsed.ttl,
    stale: overrides.stale === undefined ? base.stale : parsed.stale,
    staleIfError: overrides.staleIfError === undefined ? base.staleIfError : parsed.staleIfError,
    jitter: overrides.jitter === undefined ? base.jitter : parsed.jitter,
    tags: overrides.tags === undefined ? base.tags : [...new Set([...base.tags, ...parsed.tags])],
    meta: overrides.meta === undefined ? base.meta : { ...base.meta, ...overrides.meta },
  }
}

/** A new entry for a value the source just produced. */
export function freshEntry<T>(
  key: string,
  value: T,
  codec: Codec<T>,
  options: ResolvedEntryOptions,
  validators: ResultOptions | undefined,
  now: number,
): Entry {
  const bytes = codec.encode(value, key)
  return {
    key,
    value: bytes,
    storedAt: now,
    fetchedAt: now,
    ...computeWindows(now, options),
    ...(validators?.etag !== undefined && { etag: validators.etag }),
    ...(validators?.lastModified !== undefined && { lastModified: validators.lastModified }),
    digest: digestOf(bytes),
    tags: [...options.tags],
    size: bytes.byteLength,
    ...(options.meta !== undefined && { meta: options.meta }),
  }
}

/** The previous entry, confirmed by the source now (a 304): same bytes, new windows and validators. */
export function revalidatedEntry(
  previous: Entry,
  options: ResolvedEntryOptions,
  validators: ResultOptions | undefined,
  now: number,
): Entry {
  const etag = validators?.etag ?? previous.etag
  const lastModified = validators?.lastModified ?? previous.lastModified
  const meta = options.meta ?? previous.meta
  return {
    ...previous,
    // Named, not left to the spread: a store may back `value` with a getter (SQLite text reads).
    value: previous.value,
    storedAt: now,
    fetchedAt: now,
    ...computeWindows(now, options),
    ...(etag !== undefined && { etag }),
    ...(lastModified !== undefined && { lastModified }),
    // A caller that names no tags on revalidation keeps the ones the entry had.
    tags: options.tags.length > 0 ? [...options.tags] : previous.tags,
    ...(meta !== undefined && { meta }),
  }
}

/** Content hash of a value's bytes: sha256, base64url. Equal digests mean equal bytes. */
export function digestOf(bytes: Uint8Array): string {
  // One-shot crypto.hash (Node >= 20.12) skips the Hash object createHash needs: ~2x faster here.
  return hash('sha256', bytes, 'base64url')
}
