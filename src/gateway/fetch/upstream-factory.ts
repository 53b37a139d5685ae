import type { IncomingHttpHeaders } from 'node:http'
import type { RouteConfig, UpstreamConfig } from '../../config/types.js'
import type { Factory, FactoryContext } from '../../engine/fetch/context.js'
import type { UpstreamClient } from '../../upstream/client/client.js'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { StoredResponse } from '../response/stored-response.js'
import { keepHeaders, mergeRevalidatedHeaders, upstreamTags } from '../response/upstream-headers.js'
import { httpFreshness } from './http-freshness.js'
import { forbidsSharedStorage, isCacheableStatus } from './interpret.js'

export interface UpstreamCall {
  route: RouteConfig
  upstream: UpstreamConfig
  client: UpstreamClient
  /** Upstream path relative to the base, params already encoded. */
  path: string
  query: URLSearchParams
  clientHeaders: IncomingHttpHeaders
  now: () => number
}

/** Client headers worth passing on a cached GET: content negotiation and the route's vary headers. */
export function forwardedHeaders(
  call: Pick<UpstreamCall, 'route' | 'upstream' | 'clientHeaders'>,
): Record<string, string> {
  const headers: Record<string, string> = { ...call.upstream.headers }
  const names = ['accept', 'accept-language', ...call.route.vary]
  // With no credentials of its own configured, the upstream sees the client's (and the cache key
  // carries a hash of them unless the route is public).
  if (call.upstream.auth === undefined) names.push('authorization', 'cookie')
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
  const at = Date.parse(lastModified)
  return Number.isFinite(at) && at + 1000 <= fetchedAt ? lastModified : undefined
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
      if (route.ttl === undefined)
        applyHttpFreshness(ctx, call, previous.value.status, { ...Object.fromEntries(merged) })
      else applyNegativeTtl(ctx, route, previous.value.status)
      return ctx.notModified(undefined, updated)
    }
    const stored = new StoredResponse(response.status, keepHeaders(response.headers), response.body)
    ctx.setOptions({ meta: stored.meta, tags: upstreamTags(response.headers), ...validators(stored) })
    const storable =
      isCacheableStatus(response.status) && (route.public || !forbidsSharedStorage(response.headers))
    if (!storable) ctx.doNotStore()
    else if (route.ttl === undefined) applyHttpFreshness(ctx, call, response.status, response.headers)
    else applyNegativeTtl(ctx, route, response.status)
    return stored
  }
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
function applyNegativeTtl(ctx: FactoryContext<StoredResponse>, route: RouteConfig, status: number): void {
  if (status < 400) return
  if ((status === 404 || status === 410) && route.negativeTtl > 0)
    ctx.setOptions({ ttl: route.negativeTtl, stale: 0, staleIfError: 0, jitter: 0 })
  else ctx.doNotStore()
}

function applyHttpFreshness(
  ctx: FactoryContext<StoredResponse>,
  call: UpstreamCall,
  status: number,
  headers: Record<string, string | string[] | undefined>,
): void {
  const freshness = httpFreshness(call.clientHeaders, status, headers, call.route.staleIfError)
  if (!freshness.storable) ctx.doNotStore()
  else ctx.setOptions({ ttl: freshness.ttl, stale: freshness.stale, staleIfError: freshness.staleIfError })
}
