import type { IncomingMessage, ServerResponse } from 'node:http'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { headerValue } from '../../util/headers.js'
import { CLOSE_CONNECTION, readBody } from '../../util/http-body.js'
import { parseJsonBody } from '../../util/json-body.js'
import { forwardedHeaders } from '../fetch/forwarded-headers.js'
import { relayAnswer } from '../response/relay.js'
import { sendError } from '../response/send.js'
import { selectorsOfPath } from '../routing/cache-key.js'
import type { RequestTarget } from '../routing/request-target.js'
import type { Route } from '../routing/router.js'
import type { GatewayContext } from './context.js'
import { renderTags, upstreamTarget } from './targets.js'
import { sendUpstreamError } from './upstream-error.js'

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * `cache: false` routes, write methods, and the GETs a cache may not answer (a `no-store` request, a
 * Range with no whole copy kept, a collapsed wait that ended on an answer made for another client):
 * forwarded once with the client's end-to-end headers
 * (forwarded-headers.ts; writes are never retried), answered as the upstream answered (Set-Cookie
 * included: it is this client's own). A successful write invalidates the route's `invalidates` tags,
 * every cached variant of the same path, and of the paths its Location and Content-Location name on
 * the same upstream (RFC 9111 §4.4).
 */
export async function handlePass(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  params: Record<string, string>,
  target: RequestTarget,
  started: number,
): Promise<void> {
  const config = route.config
  const method = req.method ?? 'GET'
  const cacheStatus = { outcome: SAFE.has(method) ? 'bypass' : 'method' } as const
  const read = SAFE.has(method) ? undefined : await readBody(req, ctx.config.limits.maxBodySize)
  if (read?.kind === 'too-large') {
    sendError(res, 413, 'body_too_large', `request body is over ${ctx.config.limits.maxBodySize} bytes`, {
      headers: CLOSE_CONNECTION,
    })
    return
  }
  // The client went away mid-body: nobody to answer, and half a body must not reach the upstream.
  if (read?.kind === 'aborted') return
  const body = read?.body
  const upstream = ctx.upstreams.get(config.upstream)!
  const { path, query } = upstreamTarget(config, params, target.query, new Set())
  const headers = forwardedHeaders(config, upstream.config, req.headers, 'pass')
  let response: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
  try {
    response = await upstream.client.request({
      method,
      path,
      query,
      headers,
      lane: 'foreground',
      // Where the upstream decides (no ttl), its 5xx is its answer to relay (not retried; the breaker counts it).
      ...(config.ttl === undefined && { relayServerErrors: true }),
      ...(body && { body }),
    })
  } catch (error) {
    // The upstream did answer (a 5xx, a 429): a pass-through relays its own answer, body and all; the
    // client has already counted it for the breaker and paused the key. No answer at all: JSON error.
    if (!(error instanceof UpstreamFailure) || error.response === undefined) {
      sendUpstreamError(res, error, cacheStatus)
      ctx.onServed?.(config.name, 'ERROR', ctx.now() - started)
      return
    }
    response = error.response
  }
  if (!SAFE.has(method) && response.status >= 200 && response.status < 400) {
    const paths = [target.path, ...sameOriginPaths(req, upstream.config.url, target.path, response.headers)]
    await invalidateAfterWrite(ctx, route, params, paths, response.body)
  }
  relayAnswer(res, method, response, { ...cacheStatus, fwdStatus: response.status }, 'PASS')
  ctx.onServed?.(config.name, 'PASS', ctx.now() - started)
}

/**
 * The gateway paths a write's Location and Content-Location name (RFC 9111 §4.4), when they point at
 * this gateway or at the upstream itself: a URI on another host is someone else's cache to clear.
 * An upstream URL is taken by its path below the upstream's base, which is the gateway path on routes
 * whose `to` mirrors their path (a catch-all route in front of the upstream is the usual case).
 */
function sameOriginPaths(
  req: IncomingMessage,
  upstreamUrl: string,
  requestPath: string,
  headers: Record<string, string | string[] | undefined>,
): string[] {
  const base = gatewayUrl(req.headers.host, requestPath)
  if (base === undefined) return []
  const upstreamBase = new URL(upstreamUrl)
  const paths: string[] = []
  for (const name of ['location', 'content-location']) {
    const value = headerValue(headers, name)
    if (value === undefined) continue
    let url: URL
    try {
      url = new URL(value, base)
    } catch {
      continue
    }
    if (url.host === base.host) paths.push(url.pathname)
    else if (url.origin === upstreamBase.origin) {
      const basePath = upstreamBase.pathname.replace(/\/$/, '')
      if (url.pathname.startsWith(`${basePath}/`)) paths.push(url.pathname.slice(basePath.length))
    }
  }
  return paths.filter((path) => path !== requestPath)
}

/**
 * The request's URL on this gateway, to resolve a relative Location against. The client's Host may
 * be no URL host at all (`x:99999`, `a b`): the write has succeeded by then, so such a Host only
 * stops an absolute URI from naming this gateway, and a relative one still resolves.
 */
function gatewayUrl(host: string | undefined, requestPath: string): URL | undefined {
  for (const name of [host, 'gateway.invalid']) {
    if (name === undefined) continue
    try {
      return new URL(requestPath, `http://${name}`)
    } catch {}
  }
  return undefined
}

async function invalidateAfterWrite(
  ctx: GatewayContext,
  route: Route,
  params: Record<string, string>,
  paths: readonly string[],
  answer: Buffer,
): Promise<void> {
  const templates = route.config.invalidates
  // `{body.…}` reads the upstream's JSON answer to the write (the ids of the item it created or
  // changed); a tag whose value is missing, or an answer that is not JSON, renders nothing.
  const body = templates.some((t) => t.refs.some((ref) => ref.path[0] === 'body'))
    ? parseJsonBody(answer)
    : undefined
  const tags = renderTags(templates, { ...params, params, body })
  if (tags.length > 0) await ctx.cache.invalidate({ tags })
  for (const path of paths) for (const selector of selectorsOfPath(path)) await ctx.cache.invalidate(selector)
}
