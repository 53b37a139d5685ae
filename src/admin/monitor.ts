import type { Logger } from 'pino'
import type { CisternConfig } from '../config/types.js'
import { Router } from '../gateway/routing/router.js'
import type { Store } from '../stores/store.js'
import { Metrics } from './metrics/metrics.js'
import { timedStore } from './metrics/store-timing.js'
import { subscribeCacheEvents } from './stats/cache-events.js'
import { Observer } from './stats/observer.js'
import { RouteResolver } from './stats/route-resolver.js'

/**
 * The observing half of the admin side, built before the gateway so the gateway can be handed its
 * hooks: the metrics registry, the observer behind GET /stats, and the store wrapper that times
 * store calls. It resolves keys to routes with its own Router over the same routes as the gateway's.
 */
export interface Monitor {
  readonly metrics: Metrics
  readonly observer: Observer
  readonly resolver: RouteResolver
  /** For GatewayOptions.onServed. */
  onServed(route: string, status: string, durationMs: number): void
  /** The store, timed. */
  wrapStore(store: Store): Store
  /** Stop listening to cache events. */
  close(): void
}

export function createMonitor(
  config: CisternConfig,
  logger: Logger,
  options: { processMetrics?: boolean } = {},
): Monitor {
  const metrics = new Metrics(options)
  const resolver = new RouteResolver(new Router(config.routes))
  const observer = new Observer({ routes: config.routes, metrics, logger, resolver })
  const unsubscribe = subscribeCacheEvents(observer)
  return {
    metrics,
    observer,
    resolver,
    onServed: (route, status, durationMs) => observer.served(route, status, durationMs),
    wrapStore: (store) => timedStore(store, (name, operation, ms) => metrics.storeCall(name, operation, ms)),
    close: unsubscribe,
  }
}
