/**
 * Open-loop load on its own thread: GETs at a target rate for a fixed time, spread round-robin over
 * several base URLs, each path from a counter (distinct keys: every request is a miss). In flight is
 * capped, so a slow server makes the generator fall behind (reported) instead of piling up sockets.
 * Plain JavaScript: worker threads load it without a TypeScript loader.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Agent, request } from 'undici'

const job = workerData
// Idle sockets are let go well before the server's keepAliveTimeout (5 s), or a request may be sent on
// a socket the server is closing (ECONNRESET), which says nothing about the server.
const agent = new Agent({ connections: job.connections, pipelining: 1, keepAliveTimeout: 1000 })
const statuses = {}
const codes = {}
let sent = 0
let inFlight = 0
let skipped = 0
let maxMs = 0
let errors = 0
const pending = new Set()

async function one(index) {
  const base = job.urls[index % job.urls.length]
  const started = performance.now()
  try {
    const res = await request(`${base}${job.path}${index}`, {
      dispatcher: agent,
      headersTimeout: job.timeoutMs,
      bodyTimeout: job.timeoutMs,
    })
    const body = await res.body.text()
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
    if (res.statusCode >= 500) {
      let code = 'no-json'
      try {
        code = JSON.parse(body).code ?? JSON.parse(body).error?.code ?? 'no-code'
      } catch {}
      codes[`${res.statusCode} ${code}`] = (codes[`${res.statusCode} ${code}`] ?? 0) + 1
    }
  } catch (error) {
    errors++
    statuses[`error ${error.code ?? error.name}`] = (statuses[`error ${error.code ?? error.name}`] ?? 0) + 1
  } finally {
    maxMs = Math.max(maxMs, performance.now() - started)
    inFlight--
  }
}

const started = performance.now()
while (performance.now() - started < job.durationMs) {
  const due = Math.floor(((performance.now() - started) / 1000) * job.rate)
  while (sent + skipped < due) {
    if (inFlight >= job.maxInFlight) {
      skipped++
      continue
    }
    inFlight++
    const p = one(sent++)
    pending.add(p)
    p.finally(() => pending.delete(p))
  }
  await new Promise((resolve) => setTimeout(resolve, 2))
}
const elapsedMs = performance.now() - started
await Promise.all(pending)
await agent.close()
parentPort.postMessage({ sent, skipped, elapsedMs, statuses, codes, maxMs, errors })
