import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { registerGauges } from '../../src/admin/metrics/gauges.js'
import { Metrics } from '../../src/admin/metrics/metrics.js'

const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8')

/** Every metric family cistern registers (process defaults included). */
function families(): Set<string> {
  const metrics = new Metrics()
  registerGauges(metrics.registry, {
    upstreams: () => [],
    tiers: async () => ({ memory: { entries: 0, bytes: 0, maxBytes: 0 } }),
    queue: async () => undefined,
    now: Date.now,
  })
  return new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name))
}

describe('docs stay in step with the code', () => {
  it('docs/operations.md describes every cistern_ metric family and every admin endpoint', async () => {
    const doc = await read('docs/operations.md')
    for (const name of families()) if (name.startsWith('cistern_')) expect(doc, name).toContain(`\`${name}\``)
    for (const endpoint of [
      'GET /stats',
      'GET /entries',
      'GET /entries/{key}',
      'DELETE /entries',
      'POST /refresh',
      'GET /upstreams',
      'GET /queue',
      'GET /changes',
      'GET /events',
      'GET /metrics',
      'GET /healthz',
      'GET /readyz',
    ]) {
      expect(doc, endpoint).toContain(endpoint)
    }
  })

  it('docs/grafana-dashboard.json parses and queries only metrics cistern exports', async () => {
    const dashboard = JSON.parse(await read('docs/grafana-dashboard.json')) as {
      panels: { title: string; targets: { expr: string }[] }[]
    }
    const known = families()
    const exported = (name: string) =>
      known.has(name) ||
      ['_bucket', '_sum', '_count'].some(
        (suffix) => name.endsWith(suffix) && known.has(name.slice(0, -suffix.length)),
      )
    expect(dashboard.panels.length).toBeGreaterThan(10)
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const names = target.expr.match(/\b(?:cistern|process|nodejs)_[a-z0-9_]+/g) ?? []
        expect(names.length, panel.title).toBeGreaterThan(0)
        for (const name of names) expect(exported(name), `${panel.title}: ${name}`).toBe(true)
      }
    }
  })
})
