import { connect } from 'node:net'
import { join } from 'node:path'
import { pino } from 'pino'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { type Cistern, startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { TBA_SECRET } from './helpers.js'

/** A TBA webhook in front of an FTC-style matches route tagged by event, on SQLite in `dir`. */
export const TBA_STACK_YAML = `
listen: \${CISTERN_LISTEN}
admin: { listen: "127.0.0.1:0" }
log: { level: silent }
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - path: /ftc/:season/matches/:event
    upstream: ftc
    to: /:season/matches/:event
    ttl: 1h
    stale: 1d
    tags: ["event:{event}", "season:{season}"]
webhooks:
  - name: tba
    path: /hooks/tba
    verify: { scheme: hmac-sha256, header: X-TBA-HMAC, secret: "\${TBA_SECRET}" }
    maxBodySize: 64KB
    on:
      - when: body.message_type == "match_score"
        invalidate: ["event:{body.message_data.event_key}"]
`

/** cistern on `dir`'s database, in front of `sim`; a second call on the same dir is a restart. */
export async function startOn(sim: SimUpstream, dir: string, yaml = TBA_STACK_YAML): Promise<Cistern> {
  const env = {
    SIM_URL: sim.apiUrl,
    CISTERN_LISTEN: '127.0.0.1:0',
    CISTERN_DB: join(dir, 'cache.db'),
    TBA_SECRET,
  }
  const config = parseConfig(yaml, join(dir, 'cistern.yaml'), env)
  return startCistern(config, { logger: pino({ level: 'silent' }) })
}

export function startSim(): Promise<SimUpstream> {
  return startSimUpstream({ changeEveryMs: false })
}

/**
 * Write `head` and `chunks` on a raw socket and collect what comes back until the server closes or
 * `waitMs` passes, without ever finishing the request unless the chunks do.
 */
export function rawExchange(url: string, head: string, chunks: Buffer[], waitMs = 2000): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    let received = ''
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(received)
    }
    const timer = setTimeout(done, waitMs)
    socket.on('connect', () => {
      socket.write(head)
      for (const chunk of chunks) socket.write(chunk)
    })
    socket.on('data', (data) => {
      received += data.toString('latin1')
    })
    socket.on('error', done)
    socket.on('close', done)
  })
}
