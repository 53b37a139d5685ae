/**
 * Gateway benchmark, one run, side by side:
 *  1. cached-hit throughput and latency: bare node:http serving the same bytes from a Map vs cistern
 *     serving a memory-tier hit, for a 1 KB and a 64 KB JSON body, 50 connections;
 *  2. coalescing: N concurrent cold requests for one key, counting upstream calls and waiter latency.
 * Each server runs in its own process; the load comes from wrk (or autocannon) in another.
 *   npm run bench:gateway            (BENCH_SECONDS=10 BENCH_ROUNDS=3 by default)
 *   BENCH_THINK_MS=1 npm run bench:gateway   (load below saturation: latency without queueing)
 */
import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'
import { coalescing } from './load/coalescing.js'
import { type LoadFigures, load, THINK_MS } from './load/generate.js'
import { PINNED, startServer, stop } from './load/processes.js'

const SIZES = [1024, 65536]
const CONNECTIONS = 50
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

// This process is the coalescing run's client: it belongs on the load generator's core too.
if (PINNED)
  execFileSync('/usr/bin/taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
// The upstream gets its own process on the load generator's core: it only answers the warm-up.
const sim = await startServer(new URL('./servers/sim.js', import.meta.url), [], 1)
const simUrl = (JSON.parse(sim.line) as { url: string }).url
const bare = await startServer(new URL('./servers/bare.js', import.meta.url), SIZES.map(String))
const cistern = await startServer(new URL('./servers/cistern.js', import.meta.url), [
  '--upstream',
  simUrl,
  ...SIZES.map(String),
])
const cisternUrl = (JSON.parse(cistern.line) as { url: string }).url
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}`)
console.log(
  PINNED ? 'servers pinned to core 0, wrk to core 1 (taskset)' : 'not pinned (no taskset or one core)',
)
console.log(
  `load: ${CONNECTIONS} connections, ${SECONDS} s per measurement, ${ROUNDS} alternating rounds, median shown`,
)
console.log(
  THINK_MS > 0
    ? `each connection pauses ${THINK_MS} ms between an answer and its next request (wrk only)\n`
    : 'closed loop: each connection sends its next request as soon as it has an answer\n',
)

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const rows: string[] = []
for (const size of SIZES) {
  const runs: { bare: LoadFigures[]; cistern: LoadFigures[] } = { bare: [], cistern: [] }
  // Short warm-up so both servers are JIT-compiled before anything is measured.
  await load(`${bare.line}/bytes/${size}`, CONNECTIONS, 2)
  await load(`${cisternUrl}/bytes/${size}`, CONNECTIONS, 2)
  for (let round = 0; round < ROUNDS; round++) {
    runs.bare.push(await load(`${bare.line}/bytes/${size}`, CONNECTIONS, SECONDS))
    runs.cistern.push(await load(`${cisternUrl}/bytes/${size}`, CONNECTIONS, SECONDS))
  }
  const b = {
    rps: median(runs.bare.map((r) => r.requestsPerSec)),
    p50: median(runs.bare.map((r) => r.p50Ms)),
    p99: median(runs.bare.map((r) => r.p99Ms)),
  }
  const c = {
    rps: median(runs.cistern.map((r) => r.requestsPerSec)),
    p50: median(runs.cistern.map((r) => r.p50Ms)),
    p99: median(runs.cistern.map((r) => r.p99Ms)),
  }
  const errors = [...runs.bare, ...runs.cistern].reduce((n, r) => n + r.errors, 0)
  rows.push(
    `| ${size / 1024} KB | ${b.rps.toFixed(0)} | ${c.rps.toFixed(0)} | **${(c.rps / b.rps).toFixed(2)}×** | ${b.p50.toFixed(2)} / ${b.p99.toFixed(2)} | ${c.p50.toFixed(2)} / ${c.p99.toFixed(2)} | ${errors} |`,
  )
}
await stop(bare.child)
await stop(cistern.child)
await stop(sim.child)
console.log(
  `load generator: ${(await load('http://127.0.0.1:1/', 1, 0).catch(() => ({ tool: 'wrk' }))).tool}`,
)
console.log(
  '| body | bare node:http req/s | cistern hit req/s | ratio | bare p50 / p99 ms | cistern p50 / p99 ms | non-2xx |',
)
console.log('|---|---|---|---|---|---|---|')
for (const row of rows) console.log(row)

console.log('\ncoalescing (upstream latency 100 ms):')
console.log(await coalescing(1000, 100, 8))
