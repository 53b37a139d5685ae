import { redactKey } from '../routing/cache-key.js'

/**
 * The headers that tell a client what cistern did: `Cache-Status` (RFC 9211), the conventional
 * `X-Cache-Status`, `Age` and `X-Cache-Fetched-At`.
 */
/** `ERROR`: cistern answered an error itself (no copy to serve and the upstream failed). */
export type XCacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS' | 'REVALIDATED' | 'PASS' | 'ERROR'

export interface CacheStatusParts {
  /** `hit`, or a `fwd=` reason: uri-miss, miss, stale, request, bypass, method. */
  outcome: 'hit' | 'uri-miss' | 'miss' | 'stale' | 'request' | 'bypass' | 'method'
  /** Seconds of freshness left; negative when a stale copy is served. */
  ttl?: number
  fwdStatus?: number
  stored?: boolean
  collapsed?: boolean
  key?: string
  detail?: string
}

export function cacheStatusHeader(parts: CacheStatusParts): string {
  let value = parts.outcome === 'hit' ? 'cistern; hit' : `cistern; fwd=${parts.outcome}`
  if (parts.fwdStatus !== undefined) value += `; fwd-status=${parts.fwdStatus}`
  if (parts.ttl !== undefined) value += `; ttl=${parts.ttl}`
  if (parts.stored) value += '; stored'
  if (parts.collapsed) value += '; collapsed'
  if (parts.key !== undefined) value += `; key=${sfString(redactKey(parts.key))}`
  if (parts.detail !== undefined) value += `; detail=${sfString(parts.detail)}`
  return value
}

/** A structured-field string (RFC 8941): quoted, with `"` and `\` escaped, printable ASCII only. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/
function sfString(value: string): string {
  // The common case (a URL path) needs no escaping: one test instead of two replaces on every hit.
  if (PLAIN.test(value)) return `"${value}"`
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&')}"`
}

/** Whole seconds of freshness left, rounded down; negative once stale. */
export function ttlSeconds(freshUntil: number, now: number): number {
  return Math.floor((freshUntil - now) / 1000)
}
