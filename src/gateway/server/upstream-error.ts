import type { ServerResponse } from 'node:http'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import type { CacheStatusParts } from '../response/cache-status.js'
import { sendError } from '../response/send.js'

/**
 * No copy to stand in for the upstream: 504 for timeouts, 503 (with Retry-After) when down, 502 for
 * an answer over the size limit (`upstream_too_large`) or any other unusable one. The body names the
 * upstream by its config name only (UpstreamFailure.publicMessage): the address, port and URL of an
 * internal upstream are for the logs, which get the full error from the cache's events. X-Cache-Status
 * is `ERROR`, as the request is counted in stats and metrics: one status, one name.
 */
export function sendUpstreamError(res: ServerResponse, error: unknown, cacheStatus: CacheStatusParts): void {
  const failure = error instanceof UpstreamFailure ? error : undefined
  const parts = {
    ...cacheStatus,
    ...(failure?.status !== undefined && { fwdStatus: failure.status }),
    // An answer over limits.maxResponseSize is neither stored nor sent: Cache-Status says why.
    ...(failure?.kind === 'too-large' && { detail: 'uncacheable: too-large' }),
  }
  const options = { cacheStatus: parts, xCacheStatus: 'ERROR' } as const
  if (!failure) {
    // Not an UpstreamFailure but an error on the way (a refused path, a throw while building the
    // entry): its words are internal, for the logs.
    sendError(res, 502, 'upstream_bad_response', 'the call to the upstream failed', options)
    return
  }
  const message = failure.publicMessage
  switch (failure.kind) {
    case 'timeout':
      sendError(res, 504, 'upstream_timeout', message, options)
      return
    case 'unavailable': {
      const retryAfter = Math.max(1, Math.ceil((failure.retryAfterMs ?? 1000) / 1000))
      sendError(res, 503, 'upstream_unavailable', message, {
        ...options,
        headers: { 'retry-after': String(retryAfter) },
      })
      return
    }
    case 'too-large':
      sendError(res, 502, 'upstream_too_large', message, options)
      return
    case 'bad-response':
      sendError(res, 502, 'upstream_bad_response', message, options)
      return
  }
}
