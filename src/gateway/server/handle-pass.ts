import type { IncomingMessage, ServerResponse } from 'node:http'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { CLOSE_CONNECTION, readBody } from '../../util/http-body.js'
import { parseJsonBody } from '../../util/json-body.js'
import { cacheStatusHeader } from '../response/cache-status.js'
import { sendError } from '../response/send.js'
import { keepHeaders } from '../response/upstream-headers.js'
import { selectorsOfPath } from '../routing/cache-key.js'
import type { RequestTarget } from '../routing/request-target.js'
import type { Route } from '../routing/router.js'
import type { GatewayContext } from './context.js'
import { renderTags, upstreamTarget } from './targets.js'
import { sendUpstreamError } from './upstream-error.js'

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])
/** Request headers a pass-through forwards besides content negotiation. */
const PASSED = [
  'content-type',
  'accept',
  'accept-language',
  'if-match',
  'if-unmodified-since',
  'idempotency-key',
]

/**
 * `cache: false` routes and write methods: forwarded once (writes are never retried), answered as
 * the upstream answered (Set-Cookie included: it is this client's own). A successful write
 * invalidates the route's `invalidates` tags and every cached variant of the same path (RFC 9111 §4.4).
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
  const headers: Record<string, string> = { ...upstream.config.headers }
  const names = upstream.config.auth === undefined ? [...PASSED, 'authorization', 'cookie'] : PASSED
  for (const name of names) {
    const value = req.headers[name]
    if (typeof value === 'string') headers[name] = value
  }
  let response: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
  try {
    response = await upstream.client.request({
      method,
      path,
      query,
      headers,
      lane: 'foreground',
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
    await invalidateAfterWrite(ctx, route, params, target.path, response.body)
  }
  const out: string[] = []
  for (const [name, value] of keepHeaders(response.headers)) out.push(name, value)
  const cookies = response.headers['set-cookie']
  for (const cookie of Array.isArray(cookies) ? cookies : cookies ? [cookies] : [])
    out.push('set-cookie', cookie)
  out.push(
    'cache-status',
    cacheStatusHeader({ ...cacheStatus, fwdStatus: response.status }),
    'x-cache-status',
    'PASS',
  )
  out.push('content-length', String(response.body.byteLength))
  res.writeHead(response.status, out)
  res.end(method === 'HEAD' ? undefined : response.body)
  ctx.onServed?.(config.name, 'PASS', ctx.now() - started)
}

async function invalidateAfterWrite(
  ctx: GatewayContext,
  route: Route,
  params: Record<string, string>,
  path: string,
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
  for (const selector of selectorsOfPath(path)) await ctx.cache.invalidate(selector)
}
