#!/usr/bin/env node
/**
 * `npm run demo`: the simulated sports API (examples/sim-upstream) with cistern in front of it on the
 * embedded SQLite store, configured by examples/demo.yaml. Prints what to curl, runs until Ctrl-C.
 * SIM_PORT, CISTERN_LISTEN, CISTERN_ADMIN_LISTEN and CISTERN_DB override the defaults.
 */
import { fileURLToPath } from 'node:url'
import { startCistern } from '../src/app/cistern.js'
import { loadConfig } from '../src/config/index.js'
import { startSimUpstream } from './sim-upstream/index.js'

const sim = await startSimUpstream({
  port: Number(process.env.SIM_PORT ?? 9100),
  latencyMs: 200,
  jitterMs: 100,
  changeEveryMs: 5000,
  // The control API gets its own listener so it stays reachable while the API is 'down-refuse'.
  controlPort: Number(process.env.SIM_CONTROL_PORT ?? 9101),
  cacheControl: (path) =>
    path.includes('/events/') ? 'public, max-age=30, stale-while-revalidate=60' : undefined,
})
const configPath = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url))
const config = await loadConfig(configPath, { ...process.env, SIM_URL: sim.apiUrl })
const cistern = await startCistern(config)
const season = 2025
const live = sim.liveEvents()[0] ?? sim.events(season)[0]!
const team = sim.teamNumbers(season)[0]!
const url = cistern.url

console.log(`
cistern ${url}  →  simulated upstream ${sim.apiUrl} (200 ms latency, scores change every 5 s)
store: ${config.store.kind === 'sqlite' ? config.store.path : config.store.kind}

Try (run each twice: the first is a MISS at upstream speed, the second a HIT from memory):
  curl -si ${url}/ftc/${season}/teams/${team} | grep -iE '^(HTTP|x-cache|cache-status|age)'
  curl -s  ${url}/ftc/${season}/matches/${live.code} | head -c 300; echo
  curl -si ${url}/ftc/${season}/events/${live.code} | grep -iE '^(x-cache|cache-control|cache-status)'

Read a live event's matches once, then watch cistern keep them fresh and report what changed
(the change feed is on the admin listener; feed.public puts it on the public port behind its own tokens):
  curl -sN -H 'Authorization: Bearer ${cistern.admin?.token ?? ''}' ${cistern.adminUrl}/changes

Conditional and forced revalidation:
  curl -si -H 'If-None-Match: <etag from above>' ${url}/ftc/${season}/teams/${team}
  curl -si -H 'Cache-Control: no-cache' ${url}/ftc/${season}/teams/${team} | grep -i x-cache

A write passes through and invalidates team:${team}:
  curl -si -X PATCH -H 'content-type: application/json' -d '{"nameShort":"Renamed"}' ${url}/ftc/${season}/teams/${team}

Take the upstream down for 30 s, and see stored data served STALE and uncached paths fail fast:
  curl -s -X POST '${sim.controlUrl}/_sim/mode?mode=down-refuse&seconds=30'
  curl -si -H 'Cache-Control: no-cache' ${url}/ftc/${season}/teams/${team} | grep -iE '^(HTTP|x-cache|cache-status)'
  curl -si ${url}/ftc/2024/teams/${team} | grep -iE '^(HTTP|x-cache)'

Operate it (admin API, Prometheus metrics and a live dashboard, on their own loopback listener):
  dashboard: ${cistern.adminUrl}/?token=${cistern.admin?.token ?? ''}
  CISTERN_ADMIN_TOKEN=${cistern.admin?.token ?? ''} node dist/src/cli/main.js stats --admin ${cistern.adminUrl}
  curl -s -H 'Authorization: Bearer ${cistern.admin?.token ?? ''}' ${cistern.adminUrl}/metrics | grep cistern_requests_total

Ctrl-C stops both.`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await cistern.close(2000)
  await sim.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
