/**
 * The simulated upstream for bench/gateway.ts, in a process of its own so its timers and answers do
 * not share cistern's event loop (a production upstream never does). `--latency MS` sets its latency.
 * Prints one JSON line {url}.
 */
import { parseArgs } from 'node:util'
import { startSimUpstream } from '../../examples/sim-upstream/index.js'

const { values } = parseArgs({ options: { latency: { type: 'string' } } })
const sim = await startSimUpstream({ changeEveryMs: false, latencyMs: Number(values.latency ?? 0) })
console.log(JSON.stringify({ url: sim.url }))
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    sim.close().finally(() => process.exit(0))
  })
}
