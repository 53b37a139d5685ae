import type { Upstream } from '../upstream/create-upstream.js'
import type { BreakerSnapshot, BreakerState } from '../upstream/health/breaker.js'
import type { CallRecord } from '../upstream/health/call-log.js'
import type { UpstreamSnapshot } from '../upstream/health/snapshot.js'
import { redactUrl } from '../util/redact.js'

/**
 * Reads of an upstream's health for the admin API and metrics. Each part is checked at run time
 * before use, and a part that throws is reported as unknown: an upstream built by hand (embedding,
 * tests) without a breaker or call log shows "not available" instead of failing the admin API.
 */
export function breakerSnapshot(upstream: Upstream): BreakerSnapshot | undefined {
  const breaker = (upstream as Partial<Upstream>).breaker
  if (typeof breaker?.snapshot !== 'function') return undefined
  try {
    return breaker.snapshot()
  } catch {
    return undefined
  }
}

/** UP / DOWN / PROBING, or undefined when the upstream has no breaker. */
export function breakerState(upstream: Upstream): BreakerState | undefined {
  return breakerSnapshot(upstream)?.state
}

/** The upstream's own snapshot (last error of any kind, refusals), when it offers one. */
export function upstreamSnapshot(upstream: Upstream): UpstreamSnapshot | undefined {
  if (typeof (upstream as Partial<Upstream>).snapshot !== 'function') return undefined
  try {
    return upstream.snapshot(0)
  } catch {
    return undefined
  }
}

/** Newest first; undefined when the upstream keeps no call log. */
export function recentCalls(upstream: Upstream, limit: number): CallRecord[] | undefined {
  const log = (upstream as Partial<Upstream>).log
  if (typeof log?.entries !== 'function') return undefined
  return log.entries(limit).reverse()
}

/** The upstream's URL for display: no userinfo, no secret query parameters (config forbids both today). */
export function displayUrl(upstream: Upstream): string {
  return redactUrl(upstream.config.url)
}
