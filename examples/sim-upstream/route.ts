/** Routing of non-control requests: /echo, /bytes/:n and the /v2.0 API (memoized per data generation). */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { apiError, handleApi } from './api.js'
import type { Catalogue } from './catalogue.js'
import { bytesBody, echoBody, MAX_BYTES } from './extras.js'
import type { SimCore } from './handler.js'
import { type Prepared, prepareJson } from './respond.js'

const BODY_LIMIT = 1024 * 1024
const MEMO_LIMIT = 2000

export type Answer =
  | { kind: 'prepared'; p: Prepared; conditional: boolean }
  | { kind: 'plain'; status: number; body: string; headers: OutgoingHttpHeaders }

export const plainJson = (status: number, value: unknown, headers: OutgoingHttpHeaders = {}): Answer => ({
  kind: 'plain',
  status,
  body: value === undefined ? '' : JSON.stringify(value),
  headers: value === undefined ? headers : { 'content-type': 'application/json; charset=utf-8', ...headers },
})

export const errorJson = (status: number, code: string, message: string, headers: OutgoingHttpHeaders = {}) =>
  plainJson(status, { errorCode: code, message, source: 'sim-upstream' }, headers)

export function route(core: SimCore, method: string, url: URL, req: IncomingMessage, body: string): Answer {
  const verb = method === 'HEAD' ? 'GET' : method
  const readOnly = verb === 'GET'
  const path = url.pathname
  if (path === '/echo' || path.startsWith('/echo/')) {
    const value = echoBody(method, url, req.headers, body, {
      address: req.socket.remoteAddress,
      port: req.socket.remotePort,
    })
    return { kind: 'prepared', p: prepareJson(200, value, undefined, ['echo']), conditional: readOnly }
  }
  const segments = safeSegments(path)
  if (!segments) return errorJson(400, 'BAD_REQUEST', 'Malformed path')
  if (segments[0] === 'bytes' && segments.length === 2) {
    const n = Number(segments[1])
    if (!Number.isInteger(n) || n < 0 || n > MAX_BYTES) {
      return errorJson(400, 'BAD_REQUEST', `n must be an integer in [0, ${MAX_BYTES}]`)
    }
    if (!readOnly) return errorJson(405, 'METHOD_NOT_ALLOWED', 'Method not allowed')
    return { kind: 'prepared', p: bytesBody(n), conditional: true }
  }
  if (segments[0] === 'catalogue' && core.catalogue)
    return catalogueItem(core, core.catalogue, segments, req, readOnly)
  if (segments[0] !== 'v2.0') return errorJson(404, 'NOT_FOUND', `No route for ${path}`)
  if (readOnly) {
    const memo = core.memo
    if (memo.generation !== core.db.generation || memo.map.size > MEMO_LIMIT) {
      memo.map.clear()
      memo.generation = core.db.generation
    }
    const memoKey = `${path}${url.search}`
    const hit = memo.map.get(memoKey)
    if (hit) return { kind: 'prepared', p: hit, conditional: true }
    const r = handleApi(core.db, verb, segments, url.searchParams, undefined)
    const p = prepareJson(r.status, core.rt.localDates ? zoneless(r.body) : r.body, r.lastModifiedMs, r.tags)
    if (p.status === 200) memo.map.set(memoKey, p)
    return { kind: 'prepared', p, conditional: true }
  }
  let parsed: unknown
  if (body.length > 0) {
    try {
      parsed = JSON.parse(body)
    } catch {
      return plainJson(400, apiError(400, 'Body is not valid JSON').body)
    }
  }
  const r = handleApi(core.db, verb, segments, url.searchParams, parsed)
  return plainJson(r.status, r.body)
}

/** `GET /catalogue/items/:id`: one item as it is now (conditional). */
function catalogueItem(
  core: SimCore,
  catalogue: Catalogue,
  segments: string[],
  req: IncomingMessage,
  readOnly: boolean,
): Answer {
  const id = Number(segments[2])
  if (
    segments[1] !== 'items' ||
    segments.length !== 3 ||
    !Number.isInteger(id) ||
    id < 0 ||
    id >= catalogue.size
  ) {
    return errorJson(404, 'NOT_FOUND', `No catalogue item at /${segments.join('/')}`)
  }
  if (!readOnly) return errorJson(405, 'METHOD_NOT_ALLOWED', 'Method not allowed')
  return { kind: 'prepared', p: catalogue.answer(id, core.now(), req.headers, core.rt), conditional: true }
}

const UTC_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/

/** The body with every RFC 3339 UTC date-time written without its zone, FTC style. */
function zoneless(value: unknown): unknown {
  if (typeof value === 'string') return UTC_DATE_TIME.test(value) ? value.slice(0, -1) : value
  if (Array.isArray(value)) return value.map(zoneless)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, zoneless(v)]))
  }
  return value
}

function safeSegments(path: string): string[] | null {
  try {
    return path
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => decodeURIComponent(s))
  } catch {
    return null
  }
}

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > BODY_LIMIT) {
        req.removeAllListeners('data')
        req.resume()
        reject(new BodyTooLarge())
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
