import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RouteConfig } from '../../config/types.js'
import type { ResultOptions } from '../../engine/fetch/context.js'
import type { GetOrSetOptions } from '../../engine/options.js'
import type { CacheResult } from '../../engine/result.js'
import type { EntryInfo } from '../../model/entry.js'
import { isFresh } from '../../model/freshness.js'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { CisternError } from '../../util/errors.js'
import { forwardsEndToEnd } from '../fetch/forwarded-headers.js'
import {
  clientWantsRevalidation,
  deltaSeconds,
  type RequestDirectives,
  requestDirectives,
  responseDirectives,
  satisfies,
} from '../fetch/http-freshness.js'
import { selectionMatches } from '../fetch/response-vary.js'
import { type NotStoredReason, whyNotStored } from '../fetch/upstream-factory.js'
import { type CacheStatusParts, ttlSeconds, type XCacheStatus } from '../response/cache-status.js'
import { relayAnswer } from '../response/relay.js'
import { sendError } from '../response/send.js'
import type { StoredResponse } from '../response/stored-response.js'
import { ageSeconds, writeCached } from '../response/write-cached.js'
import { isPrivateKey, parseKey, pathOfKey, requestKey } from '../routing/cache-key.js'
import type { RequestTarget } from '../routing/request-target.js'
import type { Route } from '../routing/router.js'
import type { GatewayContext } from './context.js'
import { handlePass } from './handle-pass.js'
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
  if (config.ttl === undefined) {
    // The upstream decides: the request's own directives and Range count too (RFC 9111 §5.2.1).
    const directives = config.bypass ? requestDirectives(req.headers) : undefined
    if (directives !== undefined || req.headers.range !== undefined) {
      byRequestRules(ctx, req, res, route, params, target, started, key, directives).catch((error: unknown) =>
        sendError(res, 500, 'internal_error', error instanceof Error ? error.message : 'unexpected error'),
      )
      return
    }
  }
  const force = config.ttl !== undefined && config.bypass && clientWantsRevalidation(req.headers)
  const now = ctx.now()
  if (!force) {
    const record = ctx.cache.peekMemory(key)
    if (record !== undefined && isFresh(record.entry, now)) {
      const ttl = ttlSeconds(record.entry.freshUntil, now)
      writeCached(
        req,
        res,
        record.value,
        record.entry,
        now,
        'HIT',
        { outcome: 'hit', ttl, key },
        toClients(config, key, ttl),
      )
      ctx.onServed?.(config.name, 'HIT', ctx.now() - started)
      if (config.refresh) ctx.onRead?.(key, config)
      return
    }
  }
  viaEngine(ctx, req, res, route, params, target, started, key, force, 0)
}

/**
 * The Cache-Control a client gets on a ttl route whose policy is cistern's (`clientCacheControl:
 * cistern`): what cistern will do, `max-age` = the freshness left, `private` for an entry bound to one
 * client's credentials. Undefined: the stored (upstream's) Cache-Control goes out as it is, as on
 * routes without a ttl.
 */
function toClients(config: RouteConfig, key: string, ttl: number): string | undefined {
  if (config.ttl === undefined || config.clientCacheControl === 'upstream') return undefined
  const maxAge = `max-age=${Math.max(0, ttl)}`
  return isPrivateKey(key) ? `private, ${maxAge}` : maxAge
}

/**
 * A GET on a route without a ttl that carries request directives or a Range: judged against the kept
 * copy (if any) before the engine is asked. A copy that satisfies the directives is served as it is;
 * one that does not is revalidated; `only-if-cached` with nothing acceptable is a 504 (RFC 9111
 * §5.2.1.7); `no-store` and a Range with no whole copy kept go to the upstream as they are.
 */
async function byRequestRules(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  params: Record<string, string>,
  target: RequestTarget,
  started: number,
  key: string,
  directives: RequestDirectives | undefined,
): Promise<void> {
  const config = route.config
  let kept: Awaited<ReturnType<typeof ctx.cache.peekKept>>
  try {
    kept = await ctx.cache.peekKept(key)
  } catch {
    kept = undefined
  }
  const usable = kept === undefined ? undefined : (kept as { value: StoredResponse; entry: EntryInfo })
  if (
    directives?.noStore ||
    (req.headers.range !== undefined && usable?.value.status !== 200 && !directives?.onlyIfCached)
  ) {
    await handlePass(ctx, req, res, route, params, target, started)
    return
  }
  const now = ctx.now()
  const acceptable =
    usable !== undefined &&
    (directives === undefined ||
      satisfies(directives, {
        age: ageSeconds(usable.value, usable.entry, now),
        lifetime: usable.value.initialAge + (usable.entry.freshUntil - usable.entry.fetchedAt) / 1000,
        revalidateWhenStale: forbidsStale(usable.value),
      }))
  if (usable !== undefined) {
    const fresh = isFresh(usable.entry, now)
    if (acceptable && (fresh || directives !== undefined)) {
      const ttl = ttlSeconds(usable.entry.freshUntil, now)
      const parts = fresh
        ? { outcome: 'hit' as const, ttl, key }
        : { outcome: 'hit' as const, ttl, key, detail: 'max-stale' }
      writeCached(req, res, usable.value, usable.entry, now, fresh ? 'HIT' : 'STALE', parts)
      ctx.onServed?.(config.name, fresh ? 'HIT' : 'STALE', ctx.now() - started)
      return
    }
  }
  // Nothing kept, or a copy the directives refuse: only-if-cached ends here, anything else asks the
  // upstream (revalidating a refused copy rather than serving it).
  if (!acceptable && directives?.onlyIfCached) {
    notCached(res)
    ctx.onServed?.(config.name, 'ERROR', ctx.now() - started)
    return
  }
  viaEngine(ctx, req, res, route, params, target, started, key, usable !== undefined && !acceptable, 0)
}

/** RFC 9111 §5.2.1.7: nothing stored that may answer, and the client said not to ask the upstream. */
function notCached(res: ServerResponse): void {
  sendError(res, 504, 'not_cached', 'only-if-cached: nothing stored answers this request', {
    cacheStatus: { outcome: 'uri-miss', detail: 'only-if-cached' },
    xCacheStatus: 'MISS',
  })
}

/** The stored answer forbids serving it stale (must-revalidate, proxy-revalidate, s-maxage, no-cache). */
function forbidsStale(stored: StoredResponse): boolean {
  const { directives } = responseDirectives(Object.fromEntries(stored.headers))
  return (
    directives.has('must-revalidate') ||
    directives.has('proxy-revalidate') ||
    directives.has('s-maxage') ||
    directives.has('no-cache')
  )
}

/**
 * On a route without a ttl, whether a kept copy may stand in for a failing upstream: not when the
 * upstream forbade stale serving, and with its own `stale-if-error` (RFC 5861) only within it; without
 * one, within the route's `staleIfError` (the entry's windows).
 */
function mayServeOnError(stored: StoredResponse, entry: EntryInfo, now: number): boolean {
  if (forbidsStale(stored)) return false
  const { directives } = responseDirectives(Object.fromEntries(stored.headers))
  const seconds = deltaSeconds(directives.get('stale-if-error'))
  return seconds === undefined || now - entry.freshUntil <= seconds * 1000
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
  // The upstream-Vary headers this key holds (it may have been built before the route learned more).
  const { factory, options } = routeFetch(
    ctx,
    route,
    params,
    target.query,
    req.headers,
    parseKey(key).responseVary,
  )
  // Whether this request's own fetch ran: an error from a flight another request started is that
  // request's answer (the engine reports `collapsed` only with a result).
  let fetchedHere = false
  const ownFetch: typeof factory = (fetch) => {
    fetchedHere = true
    return factory(fetch)
  }
  ctx.cache
    .getOrSet(key, ownFetch, { ...options, forceRefresh: force })
    .then(
      (result) => {
        const notStored = result.stored ? undefined : whyNotStored(result.value)
        if (result.collapsed && notStored !== undefined && isForOneClient(config, notStored.reason)) {
          // The answer was made for the request that fetched it, with headers the key does not hold
          // (an API key, a cookie): this request asks for its own, uncollapsed, as a pass-through.
          return handlePass(ctx, req, res, route, params, target, started)
        }
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
        if (
          config.ttl === undefined &&
          result.status === 'error-stale' &&
          !mayServeOnError(result.value, result.entry, at)
        ) {
          failed(result.error, result.collapsed)
          return
        }
        const [xStatus, parts] = describe(result, force, key, at, notStored?.reason)
        writeCached(
          req,
          res,
          result.value,
          result.entry,
          at,
          xStatus,
          parts,
          // An answer not stored is not under cistern's policy: it goes out as the upstream sent it.
          parts.ttl === undefined ? undefined : toClients(config, key, parts.ttl),
        )
        ctx.onServed?.(config.name, xStatus, at - started)
        if (config.refresh && result.stored) ctx.onRead?.(key, config)
      },
      (error: unknown) => failed(error, !fetchedHere),
    )
    // A throw while writing (or in a hook) must end this response, never the process.
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : 'unexpected error'
      sendError(res, 500, 'internal_error', message)
    })

  function failed(error: unknown, collapsed: boolean): void {
    if (
      config.ttl === undefined &&
      error instanceof UpstreamFailure &&
      error.response !== undefined &&
      error.response.status >= 400
    ) {
      // The upstream answered with an error (a 5xx, a 429): on a route where it decides, its answer
      // goes to the client as it is, unstored, like any answer a cache may not reuse. (A 2xx judged
      // unusable, such as an HTML page where JSON is expected, stays cistern's own 502.)
      // A client that waited on another's fetch gets the error (asking a failing upstream once per
      // waiter would multiply the load it is failing under) but not that client's Set-Cookie.
      const fwdStatus = error.response.status
      const answer = collapsed
        ? { ...error.response, headers: { ...error.response.headers, 'set-cookie': undefined } }
        : error.response
      relayAnswer(
        res,
        req.method ?? 'GET',
        answer,
        { outcome: 'uri-miss', fwdStatus, collapsed, key, detail: 'uncacheable: status' },
        'MISS',
      )
      ctx.onServed?.(config.name, 'MISS', ctx.now() - started)
      return
    }
    if (error instanceof CisternError && error.code === 'E_KEY_TOO_LONG') {
      // The path, query and vary values a client sent make the key: its request, not the
      // upstream, is at fault, and nothing was asked of the upstream.
      sendError(res, 400, 'key_too_long', `${error.message}: send a shorter path, query or vary header`, {
        xCacheStatus: 'ERROR',
      })
    } else sendUpstreamError(res, error, { outcome: 'uri-miss', key })
    ctx.onServed?.(config.name, 'ERROR', ctx.now() - started)
  }
}

/**
 * An answer not stored because it belongs to the client whose request fetched it (RFC 9111 §3:
 * private, no-store, Authorization; and a Set-Cookie): on a route that forwards every end-to-end
 * header, that request may have carried credentials its key does not hold, so the answer may differ
 * for another client. (On a ttl route only keyed headers go upstream: a waiter sent the same.)
 */
function isForOneClient(config: RouteConfig, reason: NotStoredReason): boolean {
  return (
    forwardsEndToEnd(config, 'cached') &&
    (reason === 'private' || reason === 'no-store' || reason === 'authorization' || reason === 'set-cookie')
  )
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
