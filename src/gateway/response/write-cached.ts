import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EntryInfo } from '../../model/entry.js'
import { currentHttpDate, httpDate, parseHttpDate } from '../../util/http-date.js'
import { type CacheStatusParts, cacheStatusHeader, type XCacheStatus } from './cache-status.js'
import { answerRaw, canAnswerRaw, connectionLines } from './raw-answer.js'
import type { StoredResponse } from './stored-response.js'

/**
 * Write a cached response: the stored status, headers and body bytes as they are, plus Age,
 * Cache-Status, X-Cache-Status and X-Cache-Fetched-At. No parsing and no copying of the body; a
 * client's matching If-None-Match / If-Modified-Since gets a 304 instead. A small body on a
 * keep-alive GET goes out as the stored response's rendered answer, with no header processing.
 */
export function writeCached(
  req: IncomingMessage,
  res: ServerResponse,
  stored: StoredResponse,
  entry: Pick<EntryInfo, 'fetchedAt'>,
  now: number,
  xCacheStatus: XCacheStatus,
  cacheStatus: CacheStatusParts,
  cacheControl?: string,
): void {
  const age = String(ageSeconds(stored, entry, now))
  const statusText = cacheStatusHeader(cacheStatus)
  const fetchedAt = httpDate(entry.fetchedAt)
  if (stored.status === 200 && notModifiedFor(req, stored)) {
    res.writeHead(304, headersOf(stored, age, statusText, xCacheStatus, fetchedAt, cacheControl))
    res.end()
    return
  }
  const range = stored.status === 200 && req.method === 'GET' ? rangeFor(req, stored) : undefined
  if (range !== undefined) {
    writeRange(res, stored, range, headersOf(stored, age, statusText, xCacheStatus, fetchedAt, cacheControl))
    return
  }
  const { body, encoding } = stored.variant(req.headers['accept-encoding'])
  if (req.method === 'GET' && stored.renderable && hasBody(stored.status) && canAnswerRaw(res)) {
    const parts = {
      age,
      cacheStatus: statusText,
      xCacheStatus,
      fetchedAt,
      encoding,
      date: currentHttpDate(),
      cacheControl,
      connection: connectionLines(res),
    }
    answerRaw(res, stored.status, stored.rendered(parts, body), body)
    return
  }
  const headers = headersOf(stored, age, statusText, xCacheStatus, fetchedAt, cacheControl)
  if (stored.compressible) headers.push('vary', 'Accept-Encoding')
  if (encoding !== undefined) headers.push('content-encoding', encoding)
  if (hasBody(stored.status)) headers.push('content-length', String(body.byteLength))
  res.writeHead(stored.status, headers)
  res.end(req.method === 'HEAD' || !hasBody(stored.status) ? undefined : body)
}

/**
 * The Age of a stored answer (RFC 9111 §4.2.3): its age when received plus the time held since the
 * upstream last confirmed it, whole seconds.
 */
export function ageSeconds(
  stored: Pick<StoredResponse, 'initialAge'>,
  entry: Pick<EntryInfo, 'fetchedAt'>,
  now: number,
): number {
  return stored.initialAge + Math.max(0, Math.floor((now - entry.fetchedAt) / 1000))
}

/** The stored headers (cistern's Cache-Control in place of the stored one when given), plus cistern's own. */
function headersOf(
  stored: StoredResponse,
  age: string,
  statusText: string,
  xCacheStatus: string,
  fetchedAt: string,
  cacheControl: string | undefined,
): string[] {
  const headers: string[] = []
  const flat = stored.flatHeaders
  for (let i = 0; i < flat.length; i += 2) {
    if (cacheControl !== undefined && flat[i] === 'cache-control') continue
    headers.push(flat[i]!, flat[i + 1]!)
  }
  if (cacheControl !== undefined) headers.push('cache-control', cacheControl)
  if (stored.date !== undefined) headers.push('date', stored.date)
  headers.push(...cistern(age, statusText, xCacheStatus, fetchedAt))
  return headers
}

/**
 * The one byte range a `Range: bytes=…` asks of a whole stored body (RFC 9110 §14.2), or undefined to
 * send the whole body: no Range, several ranges, a unit other than bytes, or an If-Range that does
 * not match (a strong ETag or the Last-Modified date). An unsatisfiable range is `'unsatisfiable'`.
 */
function rangeFor(
  req: IncomingMessage,
  stored: StoredResponse,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const header = req.headers.range
  if (header === undefined) return undefined
  const ifRange = req.headers['if-range']
  if (ifRange !== undefined) {
    const strongEtag = stored.etag !== undefined && !stored.etag.startsWith('W/') && stored.etag === ifRange
    if (!strongEtag && !(stored.lastModified !== undefined && stored.lastModified === ifRange))
      return undefined
  }
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (match === null) return undefined
  const size = stored.body.byteLength
  const [, first, last] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (start >= size) return 'unsatisfiable'
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  return end < start ? undefined : { start, end }
}

function writeRange(
  res: ServerResponse,
  stored: StoredResponse,
  range: { start: number; end: number } | 'unsatisfiable',
  headers: string[],
): void {
  const size = stored.body.byteLength
  if (range === 'unsatisfiable') {
    headers.push('content-range', `bytes */${size}`, 'content-length', '0')
    res.writeHead(416, headers)
    res.end()
    return
  }
  const part = stored.body.subarray(range.start, range.end + 1)
  headers.push('content-range', `bytes ${range.start}-${range.end}/${size}`)
  headers.push('content-length', String(part.byteLength))
  res.writeHead(206, headers)
  res.end(part)
}

/** cistern's own headers, in the order WireAnswer writes them too. */
function cistern(age: string, cacheStatus: string, xCacheStatus: string, fetchedAt: string): string[] {
  return [
    'age',
    age,
    'cache-status',
    cacheStatus,
    'x-cache-status',
    xCacheStatus,
    'x-cache-fetched-at',
    fetchedAt,
  ]
}

/** 1xx, 204 and 304 answers never carry a body (RFC 9110 §6.4.1). */
export function hasBody(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304
}

/** RFC 9110 §13.1: If-None-Match (weak comparison) wins; If-Modified-Since only without it. */
export function notModifiedFor(req: IncomingMessage, stored: StoredResponse): boolean {
  const ifNoneMatch = req.headers['if-none-match']
  if (ifNoneMatch !== undefined) {
    if (stored.etag === undefined) return false
    if (ifNoneMatch.trim() === '*') return true
    const mine = weak(stored.etag)
    return ifNoneMatch.split(',').some((tag) => weak(tag.trim()) === mine)
  }
  const ifModifiedSince = req.headers['if-modified-since']
  if (ifModifiedSince === undefined || stored.lastModified === undefined) return false
  // A value that is not an HTTP-date is ignored (RFC 9110 §13.1.3), never guessed at.
  const since = parseHttpDate(ifModifiedSince)
  const modified = parseHttpDate(stored.lastModified)
  return since !== undefined && modified !== undefined && modified <= since
}

function weak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}
