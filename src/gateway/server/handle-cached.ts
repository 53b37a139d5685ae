import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ResultOptions } from '../../engine/fetch/context.js'
import type { GetOrSetOptions } from '../../engine/options.js'
import type { CacheResult } from '../../engine/result.js'
import { isFresh } from '../../model/freshness.js'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { CisternError } from '../../util/errors.js'
import { clientWantsRevalidation } from '../fetch/http-freshness.js'
import { selectionMatches } from '../fetch/response-vary.js'
import { type NotStoredReason, whyNotStored } from '../fetch/upstream-factory.js'
import { type CacheStatusParts, ttlSeconds, type XCacheStatus } from '../response/cache-status.js'
import { sendError } from '../response/send.js'
import type { StoredResponse } from '../response/stored-response.js'
import { writeCached } from '../response/write-cached.js'
import { pathOfKey, requestKey } from '../routing/cache-key.js'
import type { RequestTarget } from '../routing/request-target.js'
import type { Route } from '../routing/router.js'
import type { GatewayContext } from './context.js'
import { routeFetch } from './route-fetch.js'
import { sendUpstreamError } from './upstream-error.js'

/**
 * GET and HEAD on a cached route. A fresh memory hit is written inline: no promise, no store call,
 * no parsing. Everything else goes through the engine (store, stale serving, single-flight fetch).
 */
export function handleCached(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  params: Record<string, string>,
  target: RequestTarget,
  started: number,
): void {
  const config = route.config
  const key = requestKey(route, target.path, target.query, req.headers)
  const force = config.bypass && clientWantsRevalidation(req.headers)
  const now = ctx.now()
  if (!force) {
    const record = ctx.cache.peekMemory(key)
    if (record !== undefined && isFresh(record.entry, now)) {
      writeCached(req, res, record.value, record.entry, now, 'HIT', {
        outcome: 'hit',
        ttl: ttlSeconds(record.entry.freshUntil, now),
        key,
      })
      ctx.onServed?.(config.name, 'HIT', ctx.now() - started)
      if (config.refresh) ctx.onRead?.(key, config)
      return
    }
  }
  viaEngine(ctx, req, res, route, params, target, started, key, force, 0)
}

/**
 * The engine's answer for `key`. An answer fetched for another request (a collapsed wait) that
 * varies on a negotiated header this request sent differently is not this request's answer: it asks
 * again, under the key that holds that header now (the route learned it from the answer). At most
 * twice, since a route learns at most the negotiated headers.
 */
function viaEngine(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  params: Record<string, string>,
  target: RequestTarget,
  started: number,
  key: string,
  force: boolean,
  attempt: number,
): void {
  const config = route.config
  const { factory, options } = routeFetch(ctx, route, params, target.query, req.headers, route.responseVary)
  ctx.cache
    .getOrSet(key, factory, { ...options, forceRefresh: force })
    .then(
      (result) => {
        const notStored = result.stored ? undefined : whyNotStored(result.value)
        if (notStored?.selection) {
          const mine = requestKey(route, target.path, target.query, req.headers)
          if (!selectionMatches(notStored.selection, req.headers)) {
            if (attempt < 2) {
              viaEngine(ctx, req, res, route, params, target, started, mine, force, attempt + 1)
              return
            }
          } else if (notStored.options && mine !== key && !result.collapsed) {
            keepUnderOwnKey(ctx, route, mine, result.value, options, notStored.options)
          }
        }
        const at = ctx.now()
        const [xStatus, parts] = describe(result, force, key, at, notStored?.reason)
        writeCached(req, res, result.value, result.entry, at, xStatus, parts)
        ctx.onServed?.(config.name, xStatus, at - started)
        if (config.refresh && result.stored) ctx.onRead?.(key, config)
      },
      (error: unknown) => {
        if (error instanceof CisternError && error.code === 'E_KEY_TOO_LONG') {
          // The path, query and vary values a client sent make the key: its request, not the
          // upstream, is at fault, and nothing was asked of the upstream.
          sendError(res, 400, 'key_too_long', `${error.message}: send a shorter path, query or vary header`, {
            xCacheStatus: 'ERROR',
          })
        } else sendUpstreamError(res, error, { outcome: 'uri-miss', key })
        ctx.onServed?.(config.name, 'ERROR', ctx.now() - started)
      },
    )
    // A throw while writing (or in a hook) must end this response, never the process.
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : 'unexpected error'
      sendError(res, 500, 'internal_error', message)
    })
}

/**
 * The answer that taught a route to key on a negotiated header could not be kept under the key it
 * was fetched for (that key does not hold the header): it is kept under the request's key as the
 * route builds it now, within the route's maxVariants, so the next request with the same header hits.
 */
function keepUnderOwnKey(
  ctx: GatewayContext,
  route: Route,
  key: string,
  value: StoredResponse,
  options: GetOrSetOptions,
  fromAnswer: ResultOptions,
): void {
  const cache = ctx.cache
  const admitted = cache.hasStore
    ? route.variants.admit(cache, pathOfKey(key), ctx.now())
    : Promise.resolve(true)
  // As the engine merges them: the answer's options win, tags add up.
  const tags = [...new Set([...(options.tags ?? []), ...(fromAnswer.tags ?? [])])]
  admitted
    .then((ok) => (ok ? ctx.cache.set(key, value, { ...options, ...fromAnswer, tags }) : undefined))
    // Not keeping it costs one more upstream call later; the answer itself is already on its way.
    .catch(() => undefined)
}

/** X-Cache-Status and the RFC 9211 Cache-Status parts for an engine result. */
function describe(
  result: CacheResult<StoredResponse>,
  forced: boolean,
  key: string,
  now: number,
  notStored: NotStoredReason | undefined,
): [XCacheStatus, CacheStatusParts] {
  const ttl = ttlSeconds(result.entry.freshUntil, now)
  switch (result.status) {
    case 'hit':
      return ['HIT', { outcome: 'hit', ttl, key }]
    case 'stale':
      return ['STALE', { outcome: 'hit', ttl, key, detail: 'stale-while-revalidate' }]
    case 'revalidated':
      return [
        'REVALIDATED',
        { outcome: forced ? 'request' : 'stale', fwdStatus: 304, ttl, stored: true, key },
      ]
    case 'error-stale': {
      const status = result.error instanceof UpstreamFailure ? result.error.status : undefined
      const detail = result.error instanceof UpstreamFailure ? result.error.kind : 'error'
      return [
        'STALE',
        { outcome: 'stale', ...(status !== undefined && { fwdStatus: status }), ttl, key, detail },
      ]
    }
    case 'miss':
      return [
        forced ? 'BYPASS' : 'MISS',
        {
          outcome: forced ? 'request' : 'uri-miss',
          fwdStatus: result.value.status,
          ...(result.stored && { ttl, stored: true }),
          collapsed: result.collapsed,
          key,
          ...(notStored !== undefined && { detail: `uncacheable: ${notStored}` }),
        },
      ]
  }
}
