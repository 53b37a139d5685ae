/** HTTP caching semantics for API answers: strong ETag, Last-Modified, 304s, Cache-Control, tags, gzip. */
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import type { Runtime } from './runtime.js'

export interface Prepared {
  status: number
  body: Buffer
  etag: string
  lastModifiedMs: number | undefined
  tags: string[]
  contentType: string
  gzipped?: Buffer
}

export function etagOf(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`
}

export function prepareJson(
  status: number,
  value: unknown,
  lastModifiedMs: number | undefined,
  tags: string[] = [],
): Prepared {
  const body = value === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(value))
  return {
    status,
    body,
    etag: etagOf(body),
    lastModifiedMs,
    tags,
    contentType: 'application/json; charset=utf-8',
  }
}

const strip = (tag: string) => tag.trim().replace(/^W\//, '')

/** RFC 9110 §13.1: If-None-Match (weak comparison) wins over If-Modified-Since. */
export function isNotModified(headers: IncomingHttpHeaders, p: Prepared, rt: Runtime): boolean {
  if (p.status !== 200) return false
  const inm = headers['if-none-match']
  if (inm !== undefined) {
    if (!rt.etag) return false
    const current = strip(p.etag)
    return inm.split(',').some((t) => t.trim() === '*' || strip(t) === current)
  }
  const ims = headers['if-modified-since']
  if (ims !== undefined && rt.lastModified && p.lastModifiedMs !== undefined) {
    const since = Date.parse(ims)
    return !Number.isNaN(since) && Math.floor(p.lastModifiedMs / 1000) * 1000 <= since
  }
  return false
}

/** Validators and caching headers shared by 200 and 304 answers. */
export function cachingHeaders(path: string, p: Prepared, rt: Runtime, gz: boolean): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { ...rt.extraHeaders }
  if (p.status >= 300 && p.status !== 404) return h
  if (rt.etag) h.etag = gz ? `${p.etag.slice(0, -1)}-gz"` : p.etag
  if (rt.lastModified && p.lastModifiedMs !== undefined) {
    h['last-modified'] = new Date(p.lastModifiedMs).toUTCString()
  }
  const cc = typeof rt.cacheControl === 'function' ? rt.cacheControl(path) : rt.cacheControl
  if (cc) h['cache-control'] = cc
  if (rt.surrogateKeys && p.tags.length > 0) {
    const name = typeof rt.surrogateKeys === 'string' ? rt.surrogateKeys : 'Surrogate-Key'
    h[name.toLowerCase()] = p.tags.join(name.toLowerCase() === 'cache-tag' ? ',' : ' ')
  }
  if (rt.compress) h.vary = 'Accept-Encoding'
  return h
}

export interface SendOptions {
  /** Spread the body over this many ms (slow mode). */
  trickleMs?: number
  /** Timer scheduler that the sim clears on close. */
  schedule: (fn: () => void, ms: number) => void
}

/** Write a prepared answer, or a 304 when the request's validators match. Returns the status sent. */
export function sendPrepared(
  reqHeaders: IncomingHttpHeaders,
  res: ServerResponse,
  path: string,
  p: Prepared,
  rt: Runtime,
  opts: SendOptions,
): number {
  const acceptsGzip = rt.compress && /\bgzip\b/.test(reqHeaders['accept-encoding'] ?? '') && p.body.length > 0
  const headers = cachingHeaders(path, p, rt, acceptsGzip)
  if (isNotModified(reqHeaders, p, rt)) {
    res.writeHead(304, headers)
    res.end()
    return 304
  }
  let body = p.body
  if (acceptsGzip) {
    p.gzipped ??= gzipSync(p.body)
    body = p.gzipped
    headers['content-encoding'] = 'gzip'
  }
  if (body.length > 0 || p.status !== 204) {
    headers['content-type'] = p.contentType
    headers['content-length'] = body.length
  }
  res.writeHead(p.status, headers)
  writeBody(res, body, opts)
  return p.status
}

export function writeBody(res: ServerResponse, body: Buffer, opts: SendOptions): void {
  const trickle = opts.trickleMs ?? 0
  if (trickle <= 0 || body.length < 2) {
    res.end(body)
    return
  }
  const parts = Math.min(10, body.length)
  const size = Math.ceil(body.length / parts)
  let i = 0
  const step = () => {
    if (res.destroyed) return
    const chunk = body.subarray(i * size, (i + 1) * size)
    i++
    if (i >= parts) res.end(chunk)
    else {
      res.write(chunk)
      opts.schedule(step, trickle / parts)
    }
  }
  step()
}
