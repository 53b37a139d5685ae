import type { Upstream } from '../upstream/create-upstream.js'
import type { BreakerSnapshot, BreakerState } from '../upstream/health/breaker.js'
import type { CallRecord } from '../upstream/health/call-log.js'
import { redactUrl } from '../upstream/health/redact.js'

/** What the admin side needs of an upstream's breaker: its snapshot (or at least its state). */
export interface BreakerLike {
  snapshot?: () => BreakerSnapshot
  state?: BreakerState
}

export interface CallLogLike {
  entries(limit?: number): CallRecord[]
}

/**
 * The breaker and call log are built (src/upstream/health) but not yet attached to the Upstream the
 * gateway creates. Look for them where they are likely to land — on the Upstream or on its client,
 * as `breaker` / `health` and `callLog` / `calls` / `log` — and check their shape at run time, so the
 * admin API, metrics and dashboard light up the day they are wired, without a change here.
 */
export function breakerOf(upstream: Upstream): BreakerLike | undefined {
  for (const holder of holders(upstream)) {
    for (const name of ['breaker', 'health']) {
      const candidate = holder[name]
      if (isBreaker(candidate)) return candidate
    }
  }
  return undefined
}

export function callLogOf(upstream: Upstream): CallLogLike | undefined {
  for (const holder of holders(upstream)) {
    for (const name of ['callLog', 'calls', 'log']) {
      const candidate = holder[name]
      if (isCallLog(candidate)) return candidate
    }
  }
  return undefined
}

/** UP / DOWN / PROBING, or undefined when the upstream has no breaker yet. */
export function breakerState(upstream: Upstream): BreakerState | undefined {
  const breaker = breakerOf(upstream)
  if (!breaker) return undefined
  try {
    return breaker.snapshot ? breaker.snapshot().state : breaker.state
  } catch {
    return undefined
  }
}

export function breakerSnapshot(upstream: Upstream): BreakerSnapshot | undefined {
  const breaker = breakerOf(upstream)
  try {
    if (breaker?.snapshot) return breaker.snapshot()
    if (breaker?.state) return { state: breaker.state, since: 0, consecutiveFailures: 0 }
  } catch {
    // A breaker that throws while being read is reported as unknown, not as an admin error.
  }
  return undefined
}

/** The upstream's URL for display: no userinfo, no secret query parameters (config forbids both today). */
export function displayUrl(upstream: Upstream): string {
  return redactUrl(upstream.config.url)
}

function holders(upstream: Upstream): Record<string, unknown>[] {
  return [
    upstream as unknown as Record<string, unknown>,
    upstream.client as unknown as Record<string, unknown>,
  ]
}

function isBreaker(value: unknown): value is BreakerLike {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { snapshot?: unknown; state?: unknown }
  return typeof candidate.snapshot === 'function' || typeof candidate.state === 'string'
}

function isCallLog(value: unknown): value is CallLogLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { entries?: unknown }).entries === 'function'
  )
}
