/**
 * Refresh benchmark: how fresh keep-warm keeps a hot key, measured against the upstream's own change
 * log. The simulated upstream changes every live event's match scores every `--change-ms`; cistern
 * keeps `/ftc/:season/matches/:event` warm with `refresh: { every: 2s, while: hot }`; a client reads
 * each live event's matches every 100 ms. A read's staleness is how long before it was served the
 * upstream changed that event's data after the newest change the body already had (0 when none).
 *
 * `npm run bench:refresh` (= build, then `node dist/bench/refresh.js`); options: --seconds 60,
 * --change-ms 1500, --every 2s, --budget 10/s.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimUpstream } from '../examples/sim-upstream/index.js'
import { startCistern } from '../src/app/cistern.js'
import { parseConfig } from '../src/config/index.js'
import { machine } from './lib/report.js'

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : (process.argv[at + 1] ?? fallback)
}

const seconds = Number(option('seconds', '60'))
const changeMs = Number(option('change-ms', '1500'))
const every = option('every', '2s')
const budget = option('budget', '10/s')

const percentile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0

async function main(): Promise<void> {
  console.log(machine())
  const sim = await startSimUpstream({ changeEveryMs: changeMs })
  const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-refresh-'))
  const yaml = `
listen: 127.0.0.1:0
store: { kind: sqlite, path: "${join(dir, 'cache.db')}" }
log: { level: warn }
upstreams:
  ftc: { url: "${sim.apiUrl}", budget: { rate: ${budget}, burst: 5 } }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1m
    stale: 1d
    refresh: { every: ${every}, while: hot, priority: high }
    changes: { items: body.matches, id: item.matchNumber }
`
  const cistern = await startCistern(parseConfig(yaml, join(dir, 'cistern.yaml'), {}), { admin: false })
  const live = sim.liveEvents()
  const staleness: number[] = []
  const end = Date.now() + seconds * 1000
  let reads = 0
  while (Date.now() < end) {
    for (const { season, code } of live) {
      const res = await fetch(`${cistern.url}/ftc/${season}/matches/${code}`)
      const body = (await res.json()) as { matches: { modifiedAt: string }[] }
      const servedAt = Date.now()
      const newest = Math.max(0, ...body.matches.map((m) => Date.parse(m.modifiedAt)))
      const first = sim.changesSince(newest, { season, event: code })[0]
      staleness.push(first ? Math.max(0, servedAt - first.at) : 0)
      reads++
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const sorted = [...staleness].sort((a, b) => a - b)
  const snapshot = cistern.refresh.scheduler.snapshot()
  const stats = sim.stats()
  const result = {
    seconds,
    changeEveryMs: changeMs,
    every,
    budget,
    liveKeys: live.length,
    reads,
    stalenessMs: {
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? 0,
    },
    refreshes: snapshot.byPriority.high.refreshed,
    changeEvents: cistern.refresh.feed.published,
    upstreamCalls: stats.total,
    upstream304: stats.notModified,
    upstreamPeakPerSecond: stats.peakPerSecond,
  }
  await cistern.close(1000)
  await sim.close()
  rmSync(dir, { recursive: true, force: true })
  console.log(JSON.stringify(result, null, 2))
  console.log(
    `| ${seconds} s | ${live.length} | ${reads} | ${result.stalenessMs.p50} | ${result.stalenessMs.p95} | ${result.stalenessMs.p99} | ${result.stalenessMs.max} | ${result.refreshes} | ${result.changeEvents} | ${result.upstreamCalls} (${result.upstream304} × 304) |`,
  )
}

await main()
