/**
 * An open-loop load generator on its own thread: GETs of `${base}${prefix}${i % keys}` at `rate` per
 * second for `durationMs`, whatever the server's latency (a closed loop would slow down with the
 * server and hide overload). Requests it could not start because `maxInFlight` were outstanding are
 * counted as `unsent`, so the achieved rate is reported honestly. Answers are tallied by status,
 * X-Cache-Status and whether Retry-After was present; after the run it waits up to `drainMs` for
 * stragglers and reports any still pending (a hang). Connections are opened before the clock starts. Plain JavaScript: worker threads load it as is.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Agent, request } from 'undici'

const job = workerData
const agent = new Agent({ connections: job.connections, pipelining: 1, keepAliveTimeout: 30_000 })
const tally = new Map()
const latencies = []
let sent = 0
let unsent = 0
let inFlight = 0
let errors = 0
const errorSamples = []

async function one(i) {
  const started = performance.now()
  try {
    const res = await request(`${job.base}${job.prefix}${i % job.keys}`, { dispatcher: agent })
    await res.body.dump()
    const ra = res.headers['retry-after'] === undefined ? '' : ' retry-after'
    const key = `${res.statusCode} ${res.headers['x-cache-status'] ?? '-'}${ra}`
    tally.set(key, (tally.get(key) ?? 0) + 1)
  } catch (error) {
    errors++
    if (errorSamples.length < 5) errorSamples.push(String(error?.code ?? error))
  } finally {
    latencies.push(performance.now() - started)
    inFlight--
  }
}

// Open the connections first (a path no route answers: a quick 404, no upstream call), so the run
// measures the gateway and not a storm of new TCP connections in its first second.
await Promise.all(
  Array.from({ length: job.connections }, () =>
    request(`${job.base}/_warm`, { dispatcher: agent }).then((r) => r.body.dump()),
  ),
)
const start = performance.now()
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const elapsed = Math.min(performance.now() - start, job.durationMs)
    const due = Math.floor((elapsed * job.rate) / 1000)
    while (sent + unsent < due) {
      if (inFlight >= job.maxInFlight) {
        unsent++
        continue
      }
      inFlight++
      one(sent++)
    }
    if (elapsed >= job.durationMs) {
      clearInterval(timer)
      resolve()
    }
  }, 5)
})
const sendingMs = performance.now() - start
const drainBy = performance.now() + job.drainMs
while (inFlight > 0 && performance.now() < drainBy) await new Promise((r) => setTimeout(r, 20))
const pending = inFlight
latencies.sort((a, b) => a - b)
const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0)
parentPort.postMessage({
  sent,
  unsent,
  pending,
  errors,
  errorSamples,
  sendingMs: Math.round(sendingMs),
  tally: Object.fromEntries(tally),
  latencyMs: { p50: at(0.5), p99: at(0.99), max: Math.round(latencies.at(-1) ?? 0) },
})
agent.destroy().catch(() => {})
