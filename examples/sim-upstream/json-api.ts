/**
 * A small simulated JSON API built from the sports simulator's parts (listener, credential keys, the
 * per-second rate limiter with key locks, ETag / Last-Modified / 304 answers, body reader). The
 * recipes in examples/<name>/ describe one real API's paths, auth and error bodies with `handle`, and
 * get the same request log, outage switch and HTTP caching semantics as the sports simulator.
 * `POST /_sim/down`, `/_sim/up` and `/_sim/latency?ms=` switch the outage and latency from curl.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { credentialKey, RateLimiter } from './guard.js'
import { Listener } from './listener.js'
import type { SimAuth, SimRateLimit } from './options.js'
import { prepareJson, sendPrepared } from './respond.js'
import { BodyTooLarge, readBody } from './route.js'
import { runtimeFrom } from './runtime.js'

export interface JsonRequest {
  method: string
  /** The path without the query, as sent (still percent-encoded). */
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  /** The parsed JSON body of a write (undefined when empty or not JSON). */
  body: unknown
  /** The credential the request carries ('-' when none), as the rate limiter counts it. */
  key: string
}

export interface JsonAnswer {
  status: number
  /** Serialized as JSON; undefined sends no body. */
  body?: unknown
  headers?: Record<string, string>
  /** Last-Modified of a GET answer (ms), when the API sends one. */
  lastModifiedMs?: number
}

export interface JsonApiOptions {
  /** Answer one request that passed the outage switch and the rate limit. */
  handle(request: JsonRequest): JsonAnswer
  /** The API's answer to a request over the rate limit. */
  throttled(retryAfterSec: number): JsonAnswer
  /** The API's answer while it is down (`api.down(true)`). */
  unavailable(): JsonAnswer
  /** How credentials are read for per-key limits (bearer tokens always are). */
  auth?: SimAuth
  rateLimit?: SimRateLimit
  /** Strong ETag on GET answers (and If-None-Match → 304). Default false. */
  etag?: boolean
  /** Last-Modified on GET answers that give `lastModifiedMs` (and If-Modified-Since → 304). Default false. */
  lastModified?: boolean
  /** Cache-Control on GET answers. */
  cacheControl?: string | ((path: string) => string | undefined)
  /** Clock of the rate limiter's one-second windows. */
  now?: () => number
  /** Delay before each answer, ms (default 0; `api.setLatency()` changes it). */
  latencyMs?: number
}

export interface JsonApiCall {
  method: string
  /** Path and query as received. */
  url: string
  key: string
  at: number
  status?: number
  /** The request's conditional headers, to show revalidation. */
  conditional: boolean
}

export interface JsonApi {
  /** http://127.0.0.1:port */
  readonly url: string
  /** Every request, oldest first (the last 2000). */
  readonly calls: readonly JsonApiCall[]
  /** Calls whose method and URL match (`GET /v1/trigs/1`, or a RegExp over `METHOD url`). */
  count(match: string | RegExp): number
  /** Answer every request with `unavailable()` until switched back. */
  down(on: boolean): void
  /** Delay every answer by this many ms from now on. */
  setLatency(ms: number): void
  /** Lock a credential key (429 until it expires), as an API does to a key that went over. */
  lockKey(key: string, seconds: number): void
  close(): Promise<void>
}

const MAX_CALLS = 2000

export async function startJsonApi(options: JsonApiOptions, port = 0): Promise<JsonApi> {
  const now = options.now ?? Date.now
  const limiter = new RateLimiter()
  const rt = runtimeFrom({
    changeEveryMs: false,
    etag: options.etag ?? false,
    lastModified: options.lastModified ?? false,
    ...(options.cacheControl !== undefined && { cacheControl: options.cacheControl }),
  })
  const calls: JsonApiCall[] = []
  let isDown = false
  let latencyMs = options.latencyMs ?? 0
  const timers = new Set<NodeJS.Timeout>()
  const later = (fn: () => void, ms: number) => {
    if (ms <= 0) return fn()
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET'
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const path = q === -1 ? raw : raw.slice(0, q)
    const query = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1))
    if (path.startsWith('/_sim/')) {
      control(res, method, path, query)
      return
    }
    const key = credentialKey(req.headers, query, options.auth)
    const call: JsonApiCall = {
      method,
      url: raw,
      key,
      at: now(),
      conditional:
        req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined,
    }
    calls.push(call)
    if (calls.length > MAX_CALLS) calls.shift()
    res.on('finish', () => {
      call.status = res.statusCode
    })
    readBody(req)
      .then((text): JsonAnswer => {
        if (isDown) return options.unavailable()
        const retryAfter = limiter.check(options.rateLimit, key, now())
        if (retryAfter !== null) return options.throttled(retryAfter)
        return options.handle({ method, path, query, headers: req.headers, body: parse(text), key })
      })
      .catch((error: unknown) =>
        error instanceof BodyTooLarge
          ? { status: 413, body: { message: 'request body too large' } }
          : { status: 500, body: { message: error instanceof Error ? error.message : String(error) } },
      )
      .then((answer) => later(() => send(req, res, method, path, answer), latencyMs))
  }

  /** POST /_sim/down, /_sim/up, /_sim/latency?ms=: the outage switch and latency, for curl users. */
  const control = (res: ServerResponse, method: string, path: string, query: URLSearchParams) => {
    const ms = Number(query.get('ms'))
    if (method === 'POST' && path === '/_sim/down') isDown = true
    else if (method === 'POST' && path === '/_sim/up') isDown = false
    else if (method === 'POST' && path === '/_sim/latency' && Number.isFinite(ms) && ms >= 0) latencyMs = ms
    else {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"message":"POST /_sim/down, /_sim/up or /_sim/latency?ms="}')
      return
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ down: isDown, latencyMs }))
  }

  const send = (req: IncomingMessage, res: ServerResponse, method: string, path: string, a: JsonAnswer) => {
    if (res.destroyed) return
    if (method === 'GET' || method === 'HEAD') {
      const prepared = prepareJson(a.status, a.body, a.lastModifiedMs)
      for (const [name, value] of Object.entries(a.headers ?? {})) res.setHeader(name, value)
      sendPrepared(req.headers, res, path, prepared, rt, { schedule: later })
      return
    }
    const body = a.body === undefined ? undefined : Buffer.from(JSON.stringify(a.body))
    res.writeHead(a.status, {
      ...a.headers,
      ...(body && { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length }),
    })
    res.end(body)
  }

  const listener = new Listener(port, '127.0.0.1', handler)
  await listener.open()
  return {
    url: listener.url,
    calls,
    count(match) {
      return calls.filter((c) =>
        typeof match === 'string' ? `${c.method} ${c.url}` === match : match.test(`${c.method} ${c.url}`),
      ).length
    },
    down(on) {
      isDown = on
    },
    setLatency(ms) {
      latencyMs = ms
    },
    lockKey(key, seconds) {
      limiter.lock(key, seconds, now())
    },
    close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      return listener.close()
    },
  }
}

function parse(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
