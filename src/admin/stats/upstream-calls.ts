import type { Upstream } from '../../upstream/create-upstream.js'
import type { Observer } from './observer.js'

/**
 * Exact upstream-call metrics from each upstream's `onCall`: every call sent, retries included, with
 * its real status (or failure kind) and lane. An upstream without `onCall` (one built by hand) keeps
 * the estimate derived from cache events. Returns the unsubscribe function.
 */
export function subscribeUpstreamCalls(upstreams: Iterable<Upstream>, observer: Observer): () => void {
  const stops: (() => void)[] = []
  for (const upstream of upstreams) {
    if (typeof (upstream as Partial<Upstream>).onCall !== 'function') continue
    const name = upstream.config.name
    stops.push(
      upstream.onCall((call) => {
        observer.upstreamCall({
          upstream: name,
          status: call.status ?? call.outcome,
          lane: call.lane,
          durationMs: call.durationMs,
          method: call.method,
          url: call.url,
        })
      }),
    )
  }
  return () => {
    for (const stop of stops) stop()
  }
}
