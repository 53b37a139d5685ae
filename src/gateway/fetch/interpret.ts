import type { UpstreamResponse } from '../../upstream/client/client.js'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { parseRetryAfter } from '../../upstream/health/retry-after.js'

/**
 * Which upstream answers count as failures (the stored copy is served instead, or an error), and
 * which are answers to hand to the client. 429 and 5xx are failures; so is a 200 that is not JSON on
 * a route that expects JSON (FTC Events sometimes answers its errors as an HTML page with 200).
 */
export function failureOf(
  upstream: string,
  response: UpstreamResponse,
  expectJson: boolean,
  now: number,
): UpstreamFailure | undefined {
  const { status, headers } = response
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headers['retry-after'], now)
    const details = { status, ...(retryAfterMs !== undefined && { retryAfterMs }) }
    if (status === 504) return new UpstreamFailure(upstream, 'timeout', 'answered 504', details)
    const kind = status === 429 || status === 503 ? 'unavailable' : 'bad-response'
    return new UpstreamFailure(upstream, kind, `answered ${status}`, details)
  }
  if (expectJson && status >= 200 && status < 300 && status !== 204 && !isJson(response)) {
    return new UpstreamFailure(upstream, 'bad-response', `answered ${status} with a body that is not JSON`, {
      status,
    })
  }
  return undefined
}

function isJson(response: UpstreamResponse): boolean {
  const type = response.headers['content-type']
  if (typeof type === 'string' && !/json/i.test(type)) return false
  try {
    JSON.parse(response.body.toString('utf8'))
    return true
  } catch {
    return false
  }
}

/** Statuses a shared cache may keep with a ttl (RFC 9110 §15.1 heuristically cacheable, minus 206). */
const CACHEABLE = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])

export function isCacheableStatus(status: number): boolean {
  return CACHEABLE.has(status)
}

/** Upstream says this response is for one client only, or not to be kept at all. */
export function forbidsSharedStorage(headers: UpstreamResponse['headers']): boolean {
  const cc = headers['cache-control']
  const text = (Array.isArray(cc) ? cc.join(',') : (cc ?? '')).toLowerCase()
  return /(^|[\s,])(no-store|private)([\s,=]|$)/.test(text) || headers['set-cookie'] !== undefined
}
