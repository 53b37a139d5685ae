import { Counter, collectDefaultMetrics, Histogram, type Metric, Registry } from 'prom-client'
import type { UpstreamCallReport } from '../hooks.js'
import { RequestMetrics } from './request-metrics.js'

/** Latency buckets in seconds: sub-millisecond for memory hits up to 10 s for slow upstream misses. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1]

/**
 * The counters and histograms fed as things happen, in cistern's own Registry (never prom-client's
 * global one, so an embedding app's metrics and several cisterns in one process stay apart). Every
 * label is bounded: route names, upstream names, statuses, lanes, store operations — never keys or
 * URLs. Per-request counts are plain numbers read at scrape time (see request-metrics.ts).
 */
export class Metrics {
  readonly registry = new Registry()
  readonly #requests = new RequestMetrics(LATENCY_BUCKETS)
  readonly #upstreamCalls = new Counter({
    name: 'cistern_upstream_calls_total',
    help: 'Upstream calls by upstream, status (HTTP status or failure kind) and lane',
    labelNames: ['upstream', 'status', 'lane'] as const,
    registers: [this.registry],
  })
  readonly #upstreamDuration = new Histogram({
    name: 'cistern_upstream_call_duration_seconds',
    help: 'Upstream call duration by upstream and lane',
    labelNames: ['upstream', 'lane'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })
  readonly #budgetRefusals = new Counter({
    name: 'cistern_budget_refusals_total',
    help: 'Upstream calls not sent because the budget had no permit in time',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  })
  readonly #changes = new Counter({
    name: 'cistern_change_events_total',
    help: 'Change events detected by the refresh path, by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
  })
  readonly #webhooks = new Counter({
    name: 'cistern_webhook_events_total',
    help: 'Webhook deliveries received, by webhook and outcome',
    labelNames: ['webhook', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly #storeErrors = new Counter({
    name: 'cistern_store_errors_total',
    help: 'Failed or timed-out store calls, by store and error code',
    labelNames: ['store', 'code'] as const,
    registers: [this.registry],
  })
  readonly #storeDuration = new Histogram({
    name: 'cistern_store_operation_duration_seconds',
    help: 'Store call duration by store and operation',
    labelNames: ['store', 'operation'] as const,
    buckets: STORE_BUCKETS,
    registers: [this.registry],
  })

  readonly #droppedConnections = new Counter({
    name: 'cistern_connections_dropped_total',
    help: 'Client connections closed on accept because the listener had server.maxConnections open',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  })

  constructor(options: { processMetrics?: boolean } = {}) {
    // The Registry reads only name, help, type, get() and reset(); its typings admit just its own
    // metric classes, hence the casts.
    const counter = this.#requests.counter(
      'cistern_requests_total',
      'Gateway requests by route and X-Cache-Status',
    )
    const histogram = this.#requests.histogram(
      'cistern_request_duration_seconds',
      'Gateway request duration by route and outcome (hit, stale, miss, pass, error)',
    )
    this.registry.registerMetric(counter as unknown as Metric)
    this.registry.registerMetric(histogram as unknown as Metric)
    // process_* and nodejs_* (CPU, memory, event loop lag, GC): computed at scrape time.
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** On the hot path: plain counting, read by prom-client at scrape time. */
  request(route: string, cacheStatus: string, durationMs: number): void {
    this.#requests.record(route, cacheStatus, durationMs)
  }

  upstreamCall(report: UpstreamCallReport): void {
    this.#upstreamCalls.labels(report.upstream, String(report.status), report.lane).inc()
    this.#upstreamDuration.labels(report.upstream, report.lane).observe(report.durationMs / 1000)
  }

  budgetRefusal(upstream: string): void {
    this.#budgetRefusals.labels(upstream).inc()
  }

  changeEvent(route: string): void {
    this.#changes.labels(route).inc()
  }

  webhookEvent(webhook: string, outcome: string): void {
    this.#webhooks.labels(webhook, outcome).inc()
  }

  connectionDropped(listener: string): void {
    this.#droppedConnections.labels(listener).inc()
  }

  storeError(store: string, code: string): void {
    this.#storeErrors.labels(store, code).inc()
  }

  storeCall(store: string, operation: string, durationMs: number): void {
    this.#storeDuration.labels(store, operation).observe(durationMs / 1000)
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** Called before every scrape (the scrape-time gauges forget the previous scrape's readings). */
  readonly beforeScrape: (() => void)[] = []

  text(): Promise<string> {
    for (const hook of this.beforeScrape) hook()
    return this.registry.metrics()
  }
}
