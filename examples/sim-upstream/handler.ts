/** The request pipeline: stats → outage mode → auth → rate limit → route → latency → answer. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { Catalogue } from './catalogue.js'
import { SimDb } from './db.js'
import { checkAuth, credentialKey, RateLimiter } from './guard.js'
import type { SimOptions } from './options.js'
import { type Prepared, sendPrepared, writeBody } from './respond.js'
import { type Answer, BodyTooLarge, errorJson, readBody, route } from './route.js'
import { type Runtime, runtimeFrom } from './runtime.js'
import { StatsCollector } from './stats.js'

export interface SimCore {
  rt: Runtime
  db: SimDb
  stats: StatsCollector
  limiter: RateLimiter
  catalogue: Catalogue | undefined
  /** Answers memoized per data generation (cleared whenever the data changes). */
  memo: { generation: number; map: Map<string, Prepared> }
  now(): number
  /** setTimeout that the sim clears on close. */
  schedule(fn: () => void, ms: number): void
  control(req: IncomingMessage, res: ServerResponse, url: URL): void
}

const HTML_PAGE = `<!DOCTYPE html>
<html><head><title>Service Unavailable</title></head>
<body><h1>We'll be back soon</h1><p>The events API is down for maintenance. Please try again later.</p></body></html>
`

export function createCore(options: SimOptions, hooks: Pick<SimCore, 'schedule' | 'control'>): SimCore {
  const now = options.now ?? Date.now
  const db = new SimDb(
    {
      seed: options.seed ?? 2025,
      seasons: options.seasons ?? [2024, 2025],
      teamsPerSeason: options.teamsPerSeason ?? 48,
    },
    now,
    Math.max(1, options.newMatchEveryTicks ?? 3),
  )
  return {
    rt: runtimeFrom(options),
    db,
    stats: new StatsCollector(Math.max(1, options.callLogSize ?? 500)),
    limiter: new RateLimiter(),
    catalogue: options.catalogue && new Catalogue(options.catalogue, now()),
    memo: { generation: -1, map: new Map() },
    now,
    ...hooks,
  }
}

export function handleRequest(core: SimCore, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://sim.invalid')
  if (url.pathname === '/_sim' || url.pathname.startsWith('/_sim/')) {
    core.control(req, res, url)
    return
  }
  const { rt, stats } = core
  const method = req.method ?? 'GET'
  const nowMs = core.now()
  const key = credentialKey(req.headers, url.searchParams, rt.auth)
  const { call, second } = stats.arrive(method, req.url ?? '/', url.pathname, req.headers, key, nowMs)
  res.on('finish', () => stats.finished(call, res.statusCode))
  const mode = rt.mode
  if (mode === 'hang') return
  if (mode === 'reset' || mode === 'down-refuse') {
    req.socket.destroy()
    return
  }
  let early: Answer | undefined
  if (mode === '503') {
    early = errorJson(503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable', {
      'retry-after': String(rt.retryAfterSec),
    })
  } else if (mode === '500') early = errorJson(500, 'INTERNAL_ERROR', 'Internal server error')
  else if (mode === '429') {
    stats.limited(second)
    early = errorJson(429, 'TOO_MANY_REQUESTS', 'Too many requests', {
      'retry-after': String(rt.retryAfterSec),
    })
  } else if (mode === 'html200') {
    early = {
      kind: 'plain',
      status: 200,
      body: HTML_PAGE,
      headers: { 'content-type': 'text/html; charset=utf-8' },
    }
  }
  const isEcho = url.pathname === '/echo' || url.pathname.startsWith('/echo/')
  if (!early && !isEcho) {
    const denied = checkAuth(req.headers, url.searchParams, rt.auth)
    if (denied) {
      const challenge = rt.auth?.basic ? 'Basic realm="sim-upstream"' : 'Bearer realm="sim-upstream"'
      const headers = denied.status === 401 ? { 'www-authenticate': challenge } : {}
      early = errorJson(
        denied.status,
        denied.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN',
        denied.message,
        headers,
      )
    }
  }
  if (!early) {
    const retryAfter = core.limiter.check(rt.rateLimit, key, nowMs)
    if (retryAfter !== null) {
      stats.limited(second)
      early = errorJson(429, 'TOO_MANY_REQUESTS', 'Rate limit exceeded', {
        'retry-after': String(retryAfter),
      })
    }
  }
  readBody(req)
    .then((body) => early ?? route(core, method, url, req, body))
    .catch((err: unknown) => {
      if (err instanceof BodyTooLarge) return errorJson(413, 'PAYLOAD_TOO_LARGE', 'Request body too large')
      return errorJson(500, 'INTERNAL_ERROR', err instanceof Error ? err.message : String(err))
    })
    .then((answer) => {
      const delay = rt.latencyMs + (rt.jitterMs > 0 ? Math.random() * rt.jitterMs : 0)
      const send = () => deliver(core, req, res, url.pathname, answer)
      if (delay > 0) core.schedule(send, delay)
      else send()
    })
}

function deliver(core: SimCore, req: IncomingMessage, res: ServerResponse, path: string, a: Answer): void {
  if (res.destroyed || res.headersSent) return
  const opts = {
    schedule: core.schedule,
    trickleMs: core.rt.mode === 'slow' ? core.rt.slowMs : 0,
  }
  if (a.kind === 'prepared' && a.conditional) {
    sendPrepared(req.headers, res, path, a.p, core.rt, opts)
    return
  }
  const body = a.kind === 'prepared' ? a.p.body : Buffer.from(a.body)
  const headers: OutgoingHttpHeaders =
    a.kind === 'prepared'
      ? a.p.body.length > 0
        ? { 'content-type': a.p.contentType }
        : {}
      : { ...a.headers }
  if (body.length > 0) headers['content-length'] = body.length
  res.writeHead(a.kind === 'prepared' ? a.p.status : a.status, headers)
  writeBody(res, body, opts)
}
