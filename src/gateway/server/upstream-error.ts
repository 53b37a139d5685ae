import type { ServerResponse } from 'node:http'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import type { CisternError } from '../../util/errors.js'
import type { CacheStatusParts } from '../response/cache-status.js'
import { sendError } from '../response/send.js'

/**
 * No copy to stand in for the upstream: 504 for timeouts, 503 (with Retry-After) when down, else 502.
 * X-Cache-Status is `ERROR`, as the request is counted in stats and metrics: one status, one name.
 */
export function sendUpstreamError(res: ServerResponse, error: unknown, cacheStatus: CacheStatusParts): void {
  const failure = error instanceof UpstreamFailure ? error : undefined
  const parts = { ...cacheStatus, ...(failure?.status !== undefined && { fwdStatus: failure.status }) }
  if (failure?.kind === 'timeout') {
    sendError(res, 504, 'upstream_timeout', failure.message, { cacheStatus: parts, xCacheStatus: 'ERROR' })
  } else if (failure?.kind === 'unavailable') {
    const retryAfter = Math.max(1, Math.ceil((failure.retryAfterMs ?? 1000) / 1000))
    sendError(res, 503, 'upstream_unavailable', failure.message, {
      cacheStatus: parts,
      xCacheStatus: 'ERROR',
      headers: { 'retry-after': String(retryAfter) },
    })
  } else {
    const message = (error as CisternError | undefined)?.message ?? 'upstream failed'
    sendError(res, 502, 'upstream_bad_response', message, { cacheStatus: parts, xCacheStatus: 'ERROR' })
  }
}
