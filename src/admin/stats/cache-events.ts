import diagnostics_channel from 'node:diagnostics_channel'
import type { CacheEventMap } from '../../engine/events.js'
import { UpstreamFailure } from '../../upstream/client/failure.js'
import { StoreError } from '../../util/errors.js'
import type { Observer } from './observer.js'

type FetchEvent = CacheEventMap['fetch']
type ErrorEvent = CacheEventMap['error']

/**
 * Upstream calls and store errors, derived from the engine's diagnostics_channel events until the
 * upstream client reports its calls itself. A fetch that ends in an error is published just before
 * its `error` event (same tick), so the failure is held for one event to learn why it failed: a
 * budget refusal sent nothing and is not an upstream call. Each fetch event names its lane.
 *
 * Events are process-wide: two cisterns in one process would count each other's fetches.
 */
export function subscribeCacheEvents(observer: Observer): () => void {
  let failedFetch: FetchEvent | undefined
  const onFetch = (message: unknown) => {
    const event = message as FetchEvent
    if (event.outcome === 'error') {
      failedFetch = event
      return
    }
    const status = event.outcome === 'not-modified' ? 'not_modified' : 'ok'
    observer.fetched({
      key: event.key,
      durationMs: event.durationMs,
      lane: event.lane,
      status,
      failed: false,
      refused: false,
    })
  }
  const onError = (message: unknown) => {
    const event = message as ErrorEvent
    if (event.phase === 'store') {
      const error = event.error
      const store = error instanceof StoreError ? error.store : 'store'
      const code = error instanceof StoreError ? error.code : 'E_STORE'
      observer.storeError(store, code, error instanceof Error ? error.message : String(error))
      return
    }
    if (event.phase !== 'factory' || failedFetch?.key !== event.key) return
    const fetch = failedFetch
    failedFetch = undefined
    const refused = hasCode(event.error, 'E_BUDGET')
    observer.fetched({
      key: fetch.key,
      durationMs: fetch.durationMs,
      lane: fetch.lane,
      status: refused ? 'budget' : failureStatus(event.error),
      failed: true,
      refused,
      error: event.error instanceof Error ? event.error.message : String(event.error),
    })
  }

  const subscriptions: [string, (message: unknown) => void][] = [
    ['cistern:cache:fetch', onFetch],
    ['cistern:cache:error', onError],
  ]
  for (const [name, handler] of subscriptions) diagnostics_channel.subscribe(name, handler)
  return () => {
    for (const [name, handler] of subscriptions) diagnostics_channel.unsubscribe(name, handler)
  }
}

/** The HTTP status when the upstream answered, else the failure kind. */
function failureStatus(error: unknown): string {
  if (error instanceof UpstreamFailure) {
    if (error.status !== undefined) return String(error.status)
    return error.kind
  }
  if (hasCode(error, 'E_TIMEOUT')) return 'timeout'
  return 'error'
}

/** Whether `code` appears along the error's cause chain (bounded, cycle-safe). */
function hasCode(error: unknown, code: string): boolean {
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if ((current as { code?: unknown }).code === code) return true
    const next = (current as { cause?: unknown }).cause
    if (next === current) return false
    current = next
  }
  return false
}
