import type { Logger } from 'pino'
import type { RouteConfig } from '../../config/types.js'
import { redactKey } from '../../gateway/routing/cache-key.js'
import type { Lane } from '../../upstream/budget/types.js'
import { redactUrl } from '../../util/redact.js'
import type { AdminRecorder, UpstreamCallReport } from '../hooks.js'
import type { Metrics } from '../metrics/metrics.js'
import { type Counts, countServed, emptyCounts } from './counters.js'
import { RecentCalls } from './recent-calls.js'
import type { RouteResolver } from './route-resolver.js'
import { Throttle } from './throttle.js'

export interface UpstreamFetch {
  key: string
  durationMs: number
  lane: Lane
  /** 'ok', 'not_modified', an HTTP status, 'timeout', 'unavailable', 'bad-response' or 'error'. */
  status: string
  failed: boolean
  /** A budget refusal: nothing was sent. */
  refused: boolean
  error?: string
}

/**
 * Where every observation lands: served requests (the gateway's onServed), upstream fetches derived
 * from cache events, store errors, and reports other modules push through the AdminRecorder. Keeps
 * the per-route counts for GET /stats and feeds the Prometheus metrics and the logs.
 */
export class Observer implements AdminRecorder {
  readonly recentCalls = new RecentCalls(100)
  readonly #routes = new Map<string, Counts>()
  readonly #metrics: Metrics
  readonly #logger: Logger
  readonly #resolver: RouteResolver
  readonly #debug: boolean
  readonly #throttle = new Throttle(5_000)
  /** Set by the first report from the upstream client: the call metrics come from it from then on. */
  #direct = false

  constructor(options: { routes: RouteConfig[]; metrics: Metrics; logger: Logger; resolver: RouteResolver }) {
    for (const route of options.routes) this.#routes.set(route.name, emptyCounts())
    this.#metrics = options.metrics
    this.#logger = options.logger
    this.#resolver = options.resolver
    this.#debug = options.logger.isLevelEnabled('debug')
  }

  /** The gateway's onServed hook: on the hot path, so counting only (and a debug line if enabled). */
  served(route: string, status: string, durationMs: number): void {
    const counts = this.#counts(route)
    countServed(counts, status, durationMs)
    this.#metrics.request(route, status, durationMs)
    // PASS is only answered after the upstream answered: one call each (an ERROR may not have been sent).
    if (status === 'PASS') {
      counts.upstreamCalls++
      if (!this.#direct) {
        const upstream = this.#resolver.upstreamOf(route)
        this.#metrics.upstreamCall({ upstream, status: 'ok', lane: 'foreground', durationMs })
      }
    }
    if (this.#debug) this.#logger.debug({ route, cacheStatus: status, durationMs }, 'served')
  }

  /** An upstream fetch seen through the cache's events (the estimate; see docs/operations.md). */
  fetched(fetch: UpstreamFetch): void {
    const { route, upstream } = this.#resolver.resolve(fetch.key)
    const counts = this.#counts(route)
    // Per-route counts always come from here (the client's reports do not know routes); the
    // metrics only until the client reports its calls itself.
    if (fetch.refused) {
      counts.budgetRefusals++
      if (!this.#direct) this.#metrics.budgetRefusal(upstream)
    } else {
      counts.upstreamCalls++
      if (fetch.failed) counts.upstreamErrors++
      if (!this.#direct)
        this.#metrics.upstreamCall({
          upstream,
          status: fetch.status,
          lane: fetch.lane,
          durationMs: fetch.durationMs,
        })
    }
    const key = redactUrl(redactKey(fetch.key))
    this.recentCalls.add({
      at: Date.now(),
      upstream,
      route,
      key,
      lane: fetch.lane,
      status: fetch.status,
      durationMs: fetch.durationMs,
    })
    if (fetch.failed && this.#throttle.allow(`upstream:${route}`)) {
      const suppressed = this.#throttle.suppressed(`upstream:${route}`)
      this.#logger.warn(
        { route, upstream, key, lane: fetch.lane, status: fetch.status, error: fetch.error, suppressed },
        'upstream call failed',
      )
    }
  }

  storeError(store: string, code: string, message: string): void {
    this.#metrics.storeError(store, code)
    if (this.#throttle.allow(`store:${code}`)) {
      const suppressed = this.#throttle.suppressed(`store:${code}`)
      this.#logger.warn({ store, code, error: message, suppressed }, 'store call failed')
    }
  }

  changeEvent(route: string): void {
    this.#metrics.changeEvent(route)
  }

  /** A client connection closed on accept: `listener` had its maxConnections open. */
  connectionDropped(listener: 'public' | 'admin', maxConnections: number): void {
    this.#metrics.connectionDropped(listener)
    if (this.#throttle.allow(`drop:${listener}`)) {
      const suppressed = this.#throttle.suppressed(`drop:${listener}`)
      this.#logger.warn(
        { listener, maxConnections, suppressed },
        'connection refused: the listener is at maxConnections (raise server.maxConnections and the open-file limit if clients are legitimate)',
      )
    }
  }

  webhookEvent(webhook: string, outcome: string): void {
    this.#metrics.webhookEvent(webhook, outcome)
  }

  upstreamCall(report: UpstreamCallReport): void {
    this.#direct = true
    if (report.status === 'budget') this.#metrics.budgetRefusal(report.upstream)
    else this.#metrics.upstreamCall(report)
    // The log of upstream calls operators ask for, at debug: one line per call sent.
    if (this.#debug) this.#logger.debug({ ...report }, 'upstream call')
  }

  /** Per-route counts, routes in config order. */
  routes(): ReadonlyMap<string, Counts> {
    return this.#routes
  }

  #counts(route: string): Counts {
    let counts = this.#routes.get(route)
    if (counts === undefined) {
      counts = emptyCounts()
      this.#routes.set(route, counts)
    }
    return counts
  }
}
