import type { ServerResponse } from 'node:http'
import { redactText } from '../../log/redact.js'
import { type CacheStatusParts, cacheStatusHeader, type XCacheStatus } from './cache-status.js'

export type ErrorCodeName =
  | 'bad_request'
  | 'bad_path'
  | 'uri_too_long'
  | 'key_too_long'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'body_too_large'
  | 'upstream_bad_response'
  | 'upstream_too_large'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'internal_error'
  | 'unauthorized'
  | 'too_many_streams'

/**
 * Every error cistern answers itself is JSON: `{ "error": { "code", "message" } }`. Messages are built
 * from paths, URLs and other modules' errors, so credentials in them are masked (redactText).
 */
export function sendError(
  res: ServerResponse,
  status: number,
  code: ErrorCodeName,
  message: string,
  options: {
    headers?: Record<string, string>
    cacheStatus?: CacheStatusParts
    xCacheStatus?: XCacheStatus
  } = {},
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify({ error: { code, message: redactText(message) } })
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...options.headers,
  }
  if (options.cacheStatus) headers['cache-status'] = cacheStatusHeader(options.cacheStatus)
  if (options.xCacheStatus) headers['x-cache-status'] = options.xCacheStatus
  res.writeHead(status, headers)
  res.end(body)
}
