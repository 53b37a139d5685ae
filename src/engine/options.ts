import type { EntryMeta } from '../model/entry.js'
import type { Duration } from '../util/units.js'
import { parseDuration } from '../util/units.js'

/** Per-call options of getOrSet / set / wrap. Durations are ms numbers or strings such as `5m`. */
export interface EntryOptions {
  /** Fresh for this long after the source confirmed the value. */
  ttl?: Duration
  /** Then servable stale, with one background refresh, for this long. */
  stale?: Duration
  /** Kept after freshness ends as a fallback when the factory fails, for this long. */
  staleIfError?: Duration
  /** 0..1: shorten each ttl by up to this share at random, so keys written together expire apart. */
  jitter?: number
  tags?: readonly string[]
  meta?: EntryMeta
}

export interface GetOrSetOptions extends EntryOptions {
  /** Soft timeout: with a stored copy, answer it stale after this long while the fetch goes on. */
  timeout?: Duration
  /** Hard timeout: abort the factory and give up (stale-if-error copy, or TimeoutError). */
  hardTimeout?: Duration
  /** Skip the fresh check and ask the source (a client's `Cache-Control: no-cache`). */
  forceRefresh?: boolean
}

export interface ResolvedEntryOptions {
  ttl: number
  stale: number
  staleIfError: number
  jitter: number
  tags: readonly string[]
  meta: EntryMeta | undefined
}

export interface ResolvedOptions extends ResolvedEntryOptions {
  timeout: number | undefined
  hardTimeout: number | undefined
  forceRefresh: boolean
}

export interface Defaults {
  ttl: number
  stale: number
  staleIfError: number
  jitter: number
}

export const BUILTIN_DEFAULTS: Defaults = { ttl: 60_000, stale: 0, staleIfError: 0, jitter: 0 }
const NO_TAGS: readonly string[] = Object.freeze([])

export function resolveEntryOptions(
  options: EntryOptions | undefined,
  defaults: Defaults,
): ResolvedEntryOptions {
  // Fields written out rather than spread: object spread plus extra properties is slow on Node 20,
  // and this runs on every call that misses the memory tier.
  if (!options) {
    return {
      ttl: defaults.ttl,
      stale: defaults.stale,
      staleIfError: defaults.staleIfError,
      jitter: defaults.jitter,
      tags: NO_TAGS,
      meta: undefined,
    }
  }
  return {
    ttl: options.ttl === undefined ? defaults.ttl : parseDuration(options.ttl, 'ttl'),
    stale: options.stale === undefined ? defaults.stale : parseDuration(options.stale, 'stale'),
    staleIfError:
      options.staleIfError === undefined
        ? defaults.staleIfError
        : parseDuration(options.staleIfError, 'staleIfError'),
    jitter: options.jitter ?? defaults.jitter,
    tags: options.tags ?? NO_TAGS,
    meta: options.meta,
  }
}

export function resolveOptions(options: GetOrSetOptions | undefined, defaults: Defaults): ResolvedOptions {
  const base = resolveEntryOptions(options, defaults)
  return {
    ttl: base.ttl,
    stale: base.stale,
    staleIfError: base.staleIfError,
    jitter: base.jitter,
    tags: base.tags,
    meta: base.meta,
    timeout: options?.timeout === undefined ? undefined : parseDuration(options.timeout, 'timeout'),
    hardTimeout:
      options?.hardTimeout === undefined ? undefined : parseDuration(options.hardTimeout, 'hardTimeout'),
    forceRefresh: options?.forceRefresh ?? false,
  }
}
