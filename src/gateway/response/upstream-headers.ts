import { headerValue } from '../../util/headers.js'
import type { HeaderPairs } from './stored-response.js'

/**
 * Upstream response headers that are about the connection or this particular transfer, or that
 * must never be replayed to other clients. Everything else is kept with the entry.
 */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'content-encoding',
  'set-cookie',
  'age',
  'date',
  'alt-svc',
  'server',
  'x-powered-by',
])

export function keepHeaders(headers: Record<string, string | string[] | undefined>): HeaderPairs {
  const pairs: HeaderPairs = []
  for (const name in headers) {
    if (DROPPED.has(name)) continue
    const value = headerValue(headers, name)
    if (value !== undefined) pairs.push([name, value])
  }
  return pairs
}

/** Headers of a 304 replace the stored ones of the same name (RFC 9111 §4.3.4); the rest stay. */
export function mergeRevalidatedHeaders(stored: HeaderPairs, fresh: HeaderPairs): HeaderPairs {
  const replaced = new Map(fresh.map(([name, value]) => [name, value]))
  const merged: HeaderPairs = stored.map(([name, value]) => {
    const update = replaced.get(name)
    if (update === undefined) return [name, value]
    replaced.delete(name)
    return [name, update]
  })
  for (const pair of replaced) merged.push(pair)
  return merged
}

/** Tags the upstream names for a response (Fastly's Surrogate-Key, Cloudflare's Cache-Tag). */
export function upstreamTags(headers: Record<string, string | string[] | undefined>): string[] {
  const tags: string[] = []
  const surrogate = headerValue(headers, 'surrogate-key')
  const cacheTag = headerValue(headers, 'cache-tag')
  for (const value of [surrogate, cacheTag]) {
    if (typeof value !== 'string') continue
    for (const tag of value.split(/[\s,]+/)) if (tag !== '') tags.push(tag)
  }
  return tags
}
