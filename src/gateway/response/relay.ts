import type { ServerResponse } from 'node:http'
import { headerLines } from '../../util/headers.js'
import { type CacheStatusParts, cacheStatusHeader, type XCacheStatus } from './cache-status.js'
import { keepHeaders } from './upstream-headers.js'

/**
 * An upstream answer sent on as it came, nothing stored: status, the end-to-end headers (Set-Cookie
 * included: it is this client's own), the body, and cistern's Cache-Status. Pass-through answers and,
 * on routes without a ttl, the upstream's own error answers (RFC 9111 is about what a cache may
 * reuse; an answer it may not reuse still reaches the client as sent).
 */
export function relayAnswer(
  res: ServerResponse,
  method: string,
  response: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
  cacheStatus: CacheStatusParts,
  xCacheStatus: XCacheStatus,
): void {
  const out: string[] = []
  for (const [name, value] of keepHeaders(response.headers)) out.push(name, value)
  for (const cookie of headerLines(response.headers, 'set-cookie')) out.push('set-cookie', cookie)
  const age = response.headers.age
  if (typeof age === 'string') out.push('age', age)
  out.push('cache-status', cacheStatusHeader(cacheStatus), 'x-cache-status', xCacheStatus)
  const bodyless = method === 'HEAD' || response.status === 204 || response.status === 304
  // A HEAD answer's body is empty whatever the GET's length: no Content-Length rather than a wrong one.
  if (!bodyless) out.push('content-length', String(response.body.byteLength))
  res.writeHead(response.status, out)
  res.end(bodyless ? undefined : response.body)
}
