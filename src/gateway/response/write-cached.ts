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
): void {
  const age = String(Math.max(0, Math.floor((now - entry.fetchedAt) / 1000)))
  const statusText = cacheStatusHeader(cacheStatus)
  const fetchedAt = httpDate(entry.fetchedAt)
  if (stored.status === 200 && notModifiedFor(req, stored)) {
    const headers = [...stored.flatHeaders, ...cistern(age, statusText, xCacheStatus, fetchedAt)]
    res.writeHead(304, headers)
    res.end()
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
      connection: connectionLines(res),
    }
    answerRaw(res, stored.status, stored.rendered(parts, body), body)
    return
  }
  const headers = [...stored.flatHeaders, ...cistern(age, statusText, xCacheStatus, fetchedAt)]
  if (stored.compressible) headers.push('vary', 'Accept-Encoding')
  if (encoding !== undefined) headers.push('content-encoding', encoding)
  headers.push('content-length', String(body.byteLength))
  res.writeHead(stored.status, headers)
  res.end(req.method === 'HEAD' ? undefined : body)
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
function hasBody(status: number): boolean {
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
