import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import type { UpstreamCallReport } from '../hooks.js'

/** Latency buckets in seconds: sub-millisecond for memory hits up to 10 s for slow upstream misses. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1]

/** X-Cache-Status → the `outcome` label of the latency histogram. */
const OUTCOME: Record<string, string> = {
  HIT: 'hit',
  STALE: 'stale',
  MISS: 'miss',
  BYPASS: 'miss',
  REVALIDATED: 'miss',
  PASS: 'pass',
  ERROR: 'error',
}

interface Inc {
  inc(value?: number): void
}
interface Observe {
  observe(value: number): void
}

/**
 * The counters and histograms fed as things happen, in cistern's own Registry (never prom-client's
 * global one, so an embedding app's metrics and several cisterns in one process stay apart). Every
 * label is bounded: route names, upstream names, statuses, lanes, store operations — never keys or
 * URLs. Label children are cached, so the per-request cost is two map lookups and two additions.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly #requests = new Counter({
    name: 'cistern_requests_total',
    help: 'Gateway requests by route and X-Cache-Status',
    labelNames: ['route', 'cache_status'] as const,
    registers: [this.registry],
  })
  readonly #duration = new Histogram({
    name: 'cistern_request_duration_seconds',
    help: 'Gateway request duration by route and outcome (hit, stale, miss, pass, error)',
    labelNames: ['route', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })
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
  readonly #counterChildren = new Map<string, Inc>()
  readonly #histogramChildren = new Map<string, Observe>()

  constructor(options: { processMetrics?: boolean } = {}) {
    // process_* and nodejs_* (CPU, memory, event loop lag, GC): computed at scrape time.
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  request(route: string, cacheStatus: string, durationMs: number): void {
    const id = `${route}\u0000${cacheStatus}`
    let counter = this.#counterChildren.get(id)
    let histogram = this.#histogramChildren.get(id)
    if (!counter || !histogram) {
      counter = this.#requests.labels(route, cacheStatus)
      histogram = this.#duration.labels(route, OUTCOME[cacheStatus] ?? 'other')
      this.#counterChildren.set(id, counter)
      this.#histogramChildren.set(id, histogram)
    }
    counter.inc()
    histogram.observe(durationMs / 1000)
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
