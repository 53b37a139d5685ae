import type { Upstream } from '../../upstream/create-upstream.js'
import type { CallRecord } from '../../upstream/health/call-log.js'
import type { Observer } from './observer.js'

type CallSource = { onCall?: (listener: (call: CallRecord) => void) => () => void }

/**
 * Exact upstream-call metrics from the upstream client, where it offers `onCall` (being wired in
 * src/upstream): every call sent, retries included, with its real status and lane. Upstreams that
 * do not offer it yet keep the estimate derived from cache events. Returns the unsubscribe function.
 */
export function subscribeUpstreamCalls(upstreams: Iterable<Upstream>, observer: Observer): () => void {
  const stops: (() => void)[] = []
  for (const upstream of upstreams) {
    const source = upstream as unknown as CallSource
    if (typeof source.onCall !== 'function') continue
    const name = upstream.config.name
    stops.push(
      source.onCall((call) => {
        observer.upstreamCall({
          upstream: name,
          status: call.status ?? call.outcome,
          lane: call.lane,
          durationMs: call.durationMs,
        })
      }),
    )
  }
  return () => {
    for (const stop of stops) stop()
  }
}
