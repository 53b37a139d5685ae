import type { Metric } from 'prom-client'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { RequestMetrics } from '../../src/admin/metrics/request-metrics.js'

describe('request metrics (counted on the hot path, exposed at scrape time)', () => {
  it('exposes counts per status and cumulative latency buckets per outcome', async () => {
    const metrics = new RequestMetrics([0.001, 0.01])
    metrics.record('teams', 'HIT', 0.2)
    metrics.record('teams', 'HIT', 5)
    metrics.record('teams', 'MISS', 50)
    metrics.record('teams', 'REVALIDATED', 8)
    const registry = new Registry()
    registry.registerMetric(metrics.counter('req_total', 'requests') as unknown as Metric)
    registry.registerMetric(metrics.histogram('req_seconds', 'latency') as unknown as Metric)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE req_total counter')
    expect(text).toContain('req_total{route="teams",cache_status="HIT"} 2')
    expect(text).toContain('req_total{route="teams",cache_status="MISS"} 1')
    expect(text).toContain('# TYPE req_seconds histogram')
    expect(text).toContain('req_seconds_bucket{route="teams",outcome="hit",le="0.001"} 1')
    expect(text).toContain('req_seconds_bucket{route="teams",outcome="hit",le="0.01"} 2')
    // MISS and REVALIDATED share the miss outcome: 8 ms falls in le=0.01, 50 ms only in +Inf.
    expect(text).toContain('req_seconds_bucket{route="teams",outcome="miss",le="0.01"} 1')
    expect(text).toContain('req_seconds_bucket{route="teams",outcome="miss",le="+Inf"} 2')
    expect(text).toContain('req_seconds_count{route="teams",outcome="miss"} 2')
    expect(text).toMatch(/req_seconds_sum\{route="teams",outcome="miss"\} 0\.058/)
  })
})
