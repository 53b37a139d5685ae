import type { IncomingHttpHeaders } from 'node:http'
import type { RouteConfig, UpstreamConfig } from '../../config/types.js'
import type { Factory, FactoryContext, ResultOptions } from '../../engine/fetch/context.js'
import type { UpstreamClient } from '../../upstream/client/client.js'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { parseHttpDate } from '../../util/http-date.js'
import { StoredResponse } from '../response/stored-response.js'
import { keepHeaders, mergeRevalidatedHeaders, upstreamTags } from '../response/upstream-headers.js'
import { httpFreshness } from './http-freshness.js'
import { isCacheableStatus, sharedStorageRefusal } from './interpret.js'
import { NEGOTIATED, type Selection, selectingHeaders, selectionOf } from './response-vary.js'

export interface UpstreamCall {
  route: RouteConfig
  upstream: UpstreamConfig
  client: UpstreamClient
  /** Upstream path relative to the base, params already encoded. */
  path: string
  query: URLSearchParams
  clientHeaders: IncomingHttpHeaders
  /** The upstream-Vary headers the entry's key holds (`#@vary:` parts). */
  responseVary: readonly string[]
  /** The upstream named negotiated headers this key does not hold: key on them from now on. */
  learnResponseVary?: (names: readonly string[]) => void
  /** Whether a new key may be stored (the route's maxVariants); absent: always. */
  admitNewKey?: (key: string) => Promise<boolean>
  now: () => number
}

/** Why an answer was handed out but not stored, for Cache-Status `detail`. */
export type NotStoredReason =
  | 'no-store'
  | 'private'
  | 'set-cookie'
  | 'status'
  | 'cache-headers'
  | 'vary-star'
  | 'vary-new'
  | 'max-variants'

export interface NotStored {
  reason: NotStoredReason
  /** With `vary-new`: what the fetching request sent for the headers the answer varies on. */
  selection?: Selection
  /** With `vary-new`: the entry options the answer would be kept with (see keepUnderOwnKey). */
  options?: ResultOptions
}

/** Answers the factory handed out unstored, and why (a fresh StoredResponse per fetch, so no clash). */
const notStored = new WeakMap<StoredResponse, NotStored>()

export function whyNotStored(value: StoredResponse): NotStored | undefined {
  return notStored.get(value)
}

/**
 * Client headers worth passing on a cached GET: content negotiation and the route's vary headers.
 * A client's credentials go only to an upstream without auth of its own, and never on a public route:
 * its one entry is served to every client, so it must be what any of them would get.
 */
export function forwardedHeaders(
  call: Pick<UpstreamCall, 'route' | 'upstream' | 'clientHeaders'>,
): Record<string, string> {
  const headers: Record<string, string> = { ...call.upstream.headers }
  const names = [...NEGOTIATED, ...call.route.vary]
  // Without credentials of its own, the upstream sees the client's (and the key carries a hash of them).
  if (call.upstream.auth === undefined && !call.route.public) names.push(...call.route.credentials)
  for (const name of names) {
    const value = call.clientHeaders[name]
    if (typeof value === 'string') headers[name] = value
  }
  return headers
}

/**
 * The copy's Last-Modified, if it can safely be sent as If-Modified-Since. HTTP dates count whole
 * seconds, so a copy fetched within the second its Last-Modified names may miss a change made later
 * in that same second — and every If-Modified-Since with that date would be answered 304 until the
 * resource changes again. Such a Last-Modified is weak (RFC 9110 §8.8.2.2, against the time the copy
 * was fetched, since the upstream's Date is not kept): the copy is fetched whole once instead, and
 * the new copy, fetched a second or more later, can be revalidated by date from then on.
 */
export function strongLastModified(lastModified: string | undefined, fetchedAt: number): string | undefined {
  if (lastModified === undefined) return undefined
  const at = parseHttpDate(lastModified, fetchedAt)
  return at !== undefined && at + 1000 <= fetchedAt ? lastModified : undefined
}

/**
 * The engine factory for a cached GET: a conditional request when a copy exists (a 304 refreshes it
 * for the price of a header), and storage rules from the route or, without a route ttl, from RFC 9111.
 * The client judges the answer (429, 5xx, a non-JSON 200 where JSON is expected) and throws
 * UpstreamFailure, so the engine can serve the kept copy.
 */
export function upstreamFactory(call: UpstreamCall): Factory<StoredResponse> {
  return async (ctx: FactoryContext<StoredResponse>) => {
    const headers = forwardedHeaders(call)
    const previous = ctx.previous
    if (previous?.value.etag !== undefined) headers['if-none-match'] = previous.value.etag
    const lastModified = previous && strongLastModified(previous.value.lastModified, previous.entry.fetchedAt)
    if (lastModified !== undefined) headers['if-modified-since'] = lastModified
    // A waiting client with a copy to fall back on gets the copy now rather than waiting out retries.
    const fallback = previous !== undefined && call.now() < previous.entry.expiresAt
    const response = await call.client.request({
      method: 'GET',
      path: call.path,
      query: call.query,
      headers,
      lane: ctx.lane,
      signal: ctx.signal,
      expect: call.route.expect,
      ...(ctx.lane === 'foreground' && fallback && { retries: 0 }),
    })
    const { route } = call
    if (response.status === 304) {
      if (!previous)
        throw new UpstreamFailure(
          call.upstream.name,
          'bad-response',
          'answered 304 to an unconditional request',
          { status: 304 },
        )
      const merged = mergeRevalidatedHeaders(previous.value.headers, keepHeaders(response.headers))
      const updated = new StoredResponse(previous.value.status, merged, previous.value.body)
      ctx.setOptions({ meta: updated.meta, ...validators(updated) })
      if (route.ttl === undefined) {
        const refusal = applyHttpFreshness(
          ctx,
          call,
          previous.value.status,
          Object.fromEntries(merged),
          headers,
        )
        if (refusal !== undefined) ctx.doNotStore()
      } else {
        const negative = negativeWindows(route, previous.value.status)
        if (negative === 'refuse') ctx.doNotStore()
        else if (negative) ctx.setOptions(negative)
      }
      return ctx.notModified(undefined, updated)
    }
    const stored = new StoredResponse(response.status, keepHeaders(response.headers), response.body)
    // Kept as well as handed to the engine: an answer stored under another key needs them too.
    const overrides: ResultOptions = {
      meta: stored.meta,
      tags: upstreamTags(response.headers),
      ...validators(stored),
    }
    ctx.setOptions(overrides)
    let refusal = storageRefusal(call, response, headers)
    let keepable = refusal === undefined || refusal.reason === 'vary-new'
    if (keepable && route.ttl === undefined) {
      const freshness = httpFreshness(headers, response.status, response.headers, route.staleIfError)
      if (!freshness.storable) {
        keepable = false
        refusal ??= { reason: 'cache-headers' }
      } else {
        const windows = { ttl: freshness.ttl, stale: freshness.stale, staleIfError: freshness.staleIfError }
        ctx.setOptions(windows)
        Object.assign(overrides, windows)
      }
    }
    if (keepable && route.ttl !== undefined) {
      const negative = negativeWindows(route, response.status)
      if (negative === 'refuse') {
        keepable = false
        refusal ??= { reason: 'status' }
      } else if (negative) {
        ctx.setOptions(negative)
        Object.assign(overrides, negative)
      }
    }
    if (refusal?.reason === 'vary-new' && keepable) refusal.options = overrides
    // A key not stored yet counts against the route's maxVariants (only answers it would keep count).
    if (refusal === undefined && previous === undefined && !(await admits(call, ctx.key)))
      refusal = { reason: 'max-variants' }
    if (refusal !== undefined) {
      ctx.doNotStore()
      notStored.set(stored, refusal)
    }
    return stored
  }
}

/** A store that cannot count does not stop an answer from being kept. */
async function admits(call: UpstreamCall, key: string): Promise<boolean> {
  if (call.admitNewKey === undefined) return true
  try {
    return await call.admitNewKey(key)
  } catch {
    return true
  }
}

/** Why a shared cache may not keep this answer under this call's key, if it may not. */
function storageRefusal(
  call: UpstreamCall,
  response: { status: number; headers: Record<string, string | string[] | undefined> },
  sent: Record<string, string>,
): NotStored | undefined {
  if (!isCacheableStatus(response.status)) return { reason: 'status' }
  const refusal = sharedStorageRefusal(response.headers)
  if (refusal !== undefined) return { reason: refusal }
  const selecting = selectingHeaders(response.headers.vary, call.route)
  if (selecting === '*') return { reason: 'vary-star' }
  const unkeyed = selecting.filter((name) => !call.responseVary.includes(name))
  if (unkeyed.length === 0) return undefined
  call.learnResponseVary?.(unkeyed)
  return { reason: 'vary-new', selection: selectionOf(sent, selecting) }
}

function validators(stored: StoredResponse): { etag?: string; lastModified?: string } {
  return {
    ...(stored.etag !== undefined && { etag: stored.etag }),
    ...(stored.lastModified !== undefined && { lastModified: stored.lastModified }),
  }
}

/**
 * On a route with its own ttl, an error answer must not outlive the reason for it: a 404 kept for a
 * 24h ttl would hide an item created a minute later. 404 and 410 stay fresh for `negativeTtl` and
 * are never served stale; other error statuses (405, 414, 501) are passed on and not stored.
 */
function negativeWindows(
  route: RouteConfig,
  status: number,
): { ttl: number; stale: 0; staleIfError: 0; jitter: 0 } | 'refuse' | undefined {
  if (status < 400) return undefined
  if ((status === 404 || status === 410) && route.negativeTtl > 0)
    return { ttl: route.negativeTtl, stale: 0, staleIfError: 0, jitter: 0 }
  return 'refuse'
}

/** RFC 9111 storage and freshness from the upstream's headers, judged for the request cistern sent. */
function applyHttpFreshness(
  ctx: FactoryContext<StoredResponse>,
  call: UpstreamCall,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  sent: Record<string, string>,
): NotStored | undefined {
  const freshness = httpFreshness(sent, status, headers, call.route.staleIfError)
  if (!freshness.storable) return { reason: 'cache-headers' }
  ctx.setOptions({ ttl: freshness.ttl, stale: freshness.stale, staleIfError: freshness.staleIfError })
  return undefined
}
