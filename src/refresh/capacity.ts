import type { UpstreamConfig } from '../config/types.js'
import { keyCount } from '../upstream/client/auth.js'

/** How much of the budget, in seconds of its rate, the scheduler keeps in flight per upstream. */
const IN_FLIGHT_SECONDS = 0.5

/**
 * In-flight refreshes per upstream: about half a second of the upstream's tightest rate (at least 2,
 * at most its concurrency cap). More would queue in the budget's FIFO, where priorities no longer
 * count; fewer would leave budget unspent when the upstream is slow.
 */
export function inFlightCap(upstream: UpstreamConfig | undefined): number {
  if (!upstream) return 2
  const { rate, concurrency, per } = upstream.budget
  if (rate.length === 0) return Math.min(8, concurrency)
  const keys = per === 'key' ? keyCount(upstream.auth) : 1
  const perSecond = Math.min(...rate.map((r) => (r.count / r.perMs) * 1000)) * keys
  return Math.max(2, Math.min(concurrency, Math.ceil(perSecond * IN_FLIGHT_SECONDS)))
}
