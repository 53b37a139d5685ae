import type { ServerResponse } from 'node:http'
import { sendJsonError } from '../../util/http-json.js'
import { type CacheStatusParts, cacheStatusHeader, type XCacheStatus } from './cache-status.js'

export type ErrorCodeName =
  | 'bad_request'
  | 'bad_path'
  | 'uri_too_long'
  | 'key_too_long'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'not_cached'
  | 'body_too_large'
  | 'upstream_bad_response'
  | 'upstream_too_large'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'internal_error'

/**
 * A gateway error answer (the shape and masking are util/http-json's), labelled with the cache
 * status the request reached when there is one.
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
  const headers: Record<string, string> = { ...options.headers }
  if (options.cacheStatus) headers['cache-status'] = cacheStatusHeader(options.cacheStatus)
  if (options.xCacheStatus) headers['x-cache-status'] = options.xCacheStatus
  sendJsonError(res, status, code, message, headers)
}
