import type { IncomingHttpHeaders } from 'node:http'
import type { RouteConfig, UpstreamConfig } from '../../config/types.js'
import type { Factory, FactoryContext, ResultOptions } from '../../engine/fetch/context.js'
import type { UpstreamClient } from '../../upstream/client/client.js'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { headerLines } from '../../util/headers.js'
import { parseHttpDate } from '../../util/http-date.js'
import { StoredResponse } from '../response/stored-response.js'
import { keepHeaders, mergeRevalidatedHeaders, upstreamTags } from '../response/upstream-headers.js'
import { forwardedHeaders } from './forwarded-headers.js'
import { type HttpFreshness, httpFreshness, type Refusal } from './http-freshness.js'
import { sharedStorageRefusal } from './interpret.js'
import { MAX_LEARNED_VARY, type Selection, selectingHeaders, selectionOf } from './response-vary.js'

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
  /** The upstream named selecting headers `key` does not hold: key on them from now on. */
  learnResponseVary?: (names: readonly string[], key: string) => void
  /** Whether a new key may be stored (the route's maxVariants); absent: always. */
  admitNewKey?: (key: string) => Promise<boolean>
  now: () => number
}

/** Why an answer was handed out but not stored, for Cache-Status `detail`. */
export type NotStoredReason =
  | Refusal
  | 'set-cookie'
  | 'vary-star'
  | 'vary-new'
  | 'vary-limit'
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
 * The copy's Last-Modified, if it can safely be sent as If-Modified-Since. HTTP dates count whole
 * seconds, so a copy fetched within the second its Last-Modified names may miss a change made later
 * in that same second — and every If-Modified-Since with that date would be answered 304 until the
 * resource changes again. Such a Last-Modified is weak (RFC 9110 §8.8.2.2, against the time the copy
 * was fetched: cistern's own clock, whatever the upstream's Date says): the copy is fetched whole
 * once instead, and the new copy, fetched a second or more later, can be revalidated by date from
 * then on.
 */
export function strongLastModified(lastModified: string | undefined, fetchedAt: number): string | undefined {
  if (lastModified === undefined) return undefined
  const at = parseHttpDate(lastModified, fetchedAt)
  return at !== undefined && at + 1000 <= fetchedAt ? lastModified : undefined
}

/**
 * The engine factory for a cached GET: a conditional request when a copy exists (a 304 refreshes it
 * for the price of a header), and storage rules from the route or, without a route ttl, from RFC 9111
 * (http-freshness.ts). The client judges the answer (429, 5xx, a non-JSON 200 where JSON is expected)
 * and throws UpstreamFailure, so the engine can serve the kept copy.
 */
export function upstreamFactory(call: UpstreamCall): Factory<StoredResponse> {
  return async (ctx: FactoryContext<StoredResponse>) => {
    const { route } = call
    const headers = forwardedHeaders(route, call.upstream, call.clientHeaders, 'cached')
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
      expect: route.expect,
      ...(route.ttl === undefined && { relayServerErrors: true }),
      ...(ctx.lane === 'foreground' && fallback && { retries: 0 }),
    })
    const receivedAt = call.now()
    if (response.status === 304) {
      if (!previous)
        throw new UpstreamFailure(
          call.upstream.name,
          'bad-response',
          'answered 304 to an unconditional request',
          { status: 304 },
        )
      // RFC 9111 §4.3.4: the 304's headers update the stored ones (not the content fields).
      const merged = mergeRevalidatedHeaders(previous.value.headers, keepHeaders(response.headers))
      let freshness: HttpFreshness | Refusal | undefined
      if (route.ttl === undefined) {
        // The 304's own Age and Date say how old the confirmation is.
        const judged = { ...Object.fromEntries(merged), age: response.headers.age }
        freshness = httpFreshness(headers, previous.value.status, judged, route.staleIfError, receivedAt)
      }
      const initialAge = typeof freshness === 'object' ? freshness.initialAge : 0
      const updated = new StoredResponse(previous.value.status, merged, previous.value.body, initialAge)
      ctx.setOptions({ meta: updated.meta, ...validators(updated) })
      if (typeof freshness === 'string') ctx.doNotStore()
      else if (freshness !== undefined) ctx.setOptions(windowsOf(freshness))
      else {
        const windows = ttlRouteWindows(route, previous.value.status)
        if (windows === 'refuse') ctx.doNotStore()
        else if (windows) ctx.setOptions(windows)
      }
      return ctx.notModified(undefined, updated)
    }
    const cookies = headerLines(response.headers, 'set-cookie')
    let refusal = storageRefusal(call, ctx.key, response, headers)
    let freshness: HttpFreshness | undefined
    let windows: ResultOptions | undefined
    if (refusal === undefined || refusal.reason === 'vary-new') {
      if (route.ttl === undefined) {
        const judged = httpFreshness(
          headers,
          response.status,
          response.headers,
          route.staleIfError,
          receivedAt,
        )
        if (typeof judged === 'string') refusal = { reason: judged }
        else {
          freshness = judged
          windows = windowsOf(judged)
        }
      } else {
        const judged = ttlRouteWindows(route, response.status)
        if (judged === 'refuse') refusal = { reason: 'status' }
        else windows = judged
      }
    }
    // A session cookie handed to whoever asked must not be replayed to others (RFC 9111 §3 leaves
    // this to the cache; cistern refuses unless the route says to strip it).
    if (
      cookies.length > 0 &&
      !route.ignoreSetCookie &&
      (refusal === undefined || refusal.reason === 'vary-new')
    )
      refusal = { reason: 'set-cookie' }
    // Set-Cookie never goes on from a cached route, stored or not: clients that joined this fetch
    // (collapsed waiters) would get the session of whoever asked first.
    const stored = new StoredResponse(
      response.status,
      keepHeaders(response.headers),
      response.body,
      freshness?.initialAge ?? 0,
    )
    // Kept as well as handed to the engine: an answer stored under another key needs them too.
    const overrides: ResultOptions = {
      meta: stored.meta,
      tags: upstreamTags(response.headers),
      ...validators(stored),
      ...windows,
    }
    ctx.setOptions(overrides)
    if (refusal?.reason === 'vary-new') refusal.options = overrides
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

/** The entry windows for an RFC 9111 freshness: no jitter (the upstream named the time). */
function windowsOf(freshness: HttpFreshness): ResultOptions {
  return { ttl: freshness.ttl, stale: freshness.stale, staleIfError: freshness.staleIfError, jitter: 0 }
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

/**
 * Why a shared cache may not keep this answer under this call's key, whatever its freshness: on a
 * ttl route the upstream's no-store and private (a route without a ttl judges those with the rest of
 * RFC 9111, in http-freshness.ts); on every route, Vary.
 */
function storageRefusal(
  call: UpstreamCall,
  key: string,
  response: { status: number; headers: Record<string, string | string[] | undefined> },
  sent: Record<string, string>,
): NotStored | undefined {
  if (call.route.ttl !== undefined) {
    const refusal = sharedStorageRefusal(response.headers)
    if (refusal !== undefined) return { reason: refusal }
  }
  const selecting = selectingHeaders(response.headers.vary, call.route)
  if (selecting === '*') return { reason: 'vary-star' }
  const unkeyed = selecting.filter((name) => !call.responseVary.includes(name))
  if (unkeyed.length === 0) return undefined
  if (call.responseVary.length + unkeyed.length > MAX_LEARNED_VARY) return { reason: 'vary-limit' }
  call.learnResponseVary?.(unkeyed, key)
  return { reason: 'vary-new', selection: selectionOf(sent, selecting) }
}

function validators(stored: StoredResponse): { etag?: string; lastModified?: string } {
  return {
    ...(stored.etag !== undefined && { etag: stored.etag }),
    ...(stored.lastModified !== undefined && { lastModified: stored.lastModified }),
  }
}

/**
 * On a route with its own ttl, the ttl is for answers worth keeping that long: 2xx (but 206) and the
 * permanent redirects 301 and 308 take the route's windows (undefined: no change). An error answer
 * must not outlive the reason for it: a 404 kept for a 24h ttl would hide an item created a minute
 * later, so 404 and 410 stay fresh for `negativeTtl` and are never served stale. Every other status
 * is passed on and not stored.
 */
function ttlRouteWindows(
  route: RouteConfig,
  status: number,
): { ttl: number; stale: 0; staleIfError: 0; jitter: 0 } | 'refuse' | undefined {
  if ((status >= 200 && status < 300 && status !== 206) || status === 301 || status === 308) return undefined
  if ((status === 404 || status === 410) && route.negativeTtl > 0)
    return { ttl: route.negativeTtl, stale: 0, staleIfError: 0, jitter: 0 }
  return 'refuse'
}
