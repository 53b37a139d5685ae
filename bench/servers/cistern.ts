/**
 * cistern in front of the simulated upstream's /bytes/:n, for bench/gateway.ts. Started as its own
 * process with `--upstream URL` (bench/servers/sim.ts, another process); warms each size given on the
 * command line, then prints one JSON line {url}.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { WaitLog } from './wait-log.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { upstream: { type: 'string' } },
})
if (values.upstream === undefined) throw new Error('bench/servers/cistern.ts needs --upstream URL')
const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-'))
const yaml = `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
store: { kind: sqlite, path: ${JSON.stringify(join(dir, 'cache.db'))}, memory: 256MB }
upstreams:
  sim: { url: ${JSON.stringify(values.upstream)}, timeout: 10s }
routes:
  - path: /bytes/:n
    upstream: sim
    to: /bytes/:n
    ttl: 1h
  - path: /cold/:id
    upstream: sim
    to: /bytes/1024?id=:id
    ttl: 1h
`
// Server-side waits of cold requests, read and reset by GET /_bench/waits: what a waiter costs
// cistern, without the load generator's own queueing. The engine's fetch event marks the moment the
// upstream's answer is in, where the fan-out to the waiters starts.
const log = new WaitLog()
diagnostics_channel.subscribe('cistern:cache:fetch', (message) => {
  if ((message as { key: string }).key.startsWith('/cold/')) log.ready()
})
const cistern = await startCistern(parseConfig(yaml, join(dir, 'bench.yaml'), {}), {
  // Asked before routing, as bare.ts's listener is: a cold request's wait starts as it arrives.
  extraHandlers: [
    (_req, res, path) => {
      if (path.startsWith('/cold/')) log.track(res)
      return false
    },
    (_req, res, path) => {
      if (path !== '/_bench/waits') return false
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(log.take()))
      return true
    },
  ],
})
for (const n of positionals) await (await fetch(`${cistern.url}/bytes/${n}`)).arrayBuffer()
console.log(JSON.stringify({ url: cistern.url }))
// Exit through process.exit so --cpu-prof and friends get to write their output.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cistern.close(500).finally(() => process.exit(0))
  })
}
