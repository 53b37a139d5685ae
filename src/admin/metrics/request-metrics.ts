/**
 * Requests by route and X-Cache-Status, and their latency histogram, counted in plain numbers on the
 * hot path and turned into Prometheus values only when scraped. prom-client's own children validate
 * and hash their labels on every inc() and observe() — a few microseconds per request, which a cache
 * hit cannot afford; here a request costs two map lookups, three additions and a short bucket scan.
 */

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

interface Cell {
  count: number
  sum: number
  /** Per bucket (not cumulative); the last slot is +Inf. */
  buckets: number[]
}

interface MetricValue {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

/** The part of prom-client's metric interface its Registry reads. */
export interface ScrapedMetric {
  name: string
  help: string
  type: 'counter' | 'histogram'
  aggregator: 'sum'
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>
  reset(): void
}

export class RequestMetrics {
  readonly #upperBounds: readonly number[]
  /** route → X-Cache-Status → cell */
  readonly #cells = new Map<string, Map<string, Cell>>()

  constructor(upperBounds: readonly number[]) {
    this.#upperBounds = upperBounds
  }

  record(route: string, cacheStatus: string, durationMs: number): void {
    let byStatus = this.#cells.get(route)
    if (byStatus === undefined) {
      byStatus = new Map()
      this.#cells.set(route, byStatus)
    }
    let cell = byStatus.get(cacheStatus)
    if (cell === undefined) {
      cell = { count: 0, sum: 0, buckets: new Array<number>(this.#upperBounds.length + 1).fill(0) }
      byStatus.set(cacheStatus, cell)
    }
    const seconds = durationMs / 1000
    cell.count++
    cell.sum += seconds
    const bounds = this.#upperBounds
    let i = 0
    while (i < bounds.length && seconds > bounds[i]!) i++
    cell.buckets[i]!++
  }

  counter(name: string, help: string): ScrapedMetric {
    return this.#metric(name, help, 'counter', () => {
      const values: MetricValue[] = []
      for (const [route, byStatus] of this.#cells) {
        for (const [status, cell] of byStatus)
          values.push({ labels: { route, cache_status: status }, value: cell.count })
      }
      return values
    })
  }

  histogram(name: string, help: string): ScrapedMetric {
    return this.#metric(name, help, 'histogram', () => {
      const values: MetricValue[] = []
      for (const [route, byStatus] of this.#cells) {
        for (const [outcome, cell] of this.#byOutcome(byStatus)) {
          let cumulative = 0
          this.#upperBounds.forEach((le, i) => {
            cumulative += cell.buckets[i]!
            values.push({ metricName: `${name}_bucket`, labels: { route, outcome, le }, value: cumulative })
          })
          values.push({
            metricName: `${name}_bucket`,
            labels: { route, outcome, le: '+Inf' },
            value: cell.count,
          })
          values.push({ metricName: `${name}_sum`, labels: { route, outcome }, value: cell.sum })
          values.push({ metricName: `${name}_count`, labels: { route, outcome }, value: cell.count })
        }
      }
      return values
    })
  }

  /** Statuses that share an outcome (MISS, BYPASS, REVALIDATED → miss) add up into one series. */
  #byOutcome(byStatus: Map<string, Cell>): Map<string, Cell> {
    const merged = new Map<string, Cell>()
    for (const [status, cell] of byStatus) {
      const outcome = OUTCOME[status] ?? 'other'
      const into = merged.get(outcome)
      if (into === undefined) {
        merged.set(outcome, { count: cell.count, sum: cell.sum, buckets: [...cell.buckets] })
        continue
      }
      into.count += cell.count
      into.sum += cell.sum
      cell.buckets.forEach((n, i) => {
        into.buckets[i]! += n
      })
    }
    return merged
  }

  #metric(
    name: string,
    help: string,
    type: 'counter' | 'histogram',
    values: () => MetricValue[],
  ): ScrapedMetric {
    return {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }),
      reset: () => this.#cells.clear(),
    }
  }
}
