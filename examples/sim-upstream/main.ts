#!/usr/bin/env node
/**
 * CLI: start the simulated upstream and print its URL.
 *   node dist/examples/sim-upstream/main.js --port 9000 --latency 200
 * The first output line is always `sim-upstream listening on <url>` (or one JSON line with --json).
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { SIM_MODES, type SimMode, type SimOptions, startSimUpstream } from './index.js'

const USAGE = `Usage: main.js [options]
  --port N             port on 127.0.0.1 (default 9000; 0 = random)
  --host H             listen host (default 127.0.0.1)
  --control-port N     also serve /_sim/ on this port, reachable even in down-refuse (0 = random)
  --latency MS         fixed latency per answer (default 0)
  --jitter MS          extra random latency in [0, MS)
  --change-every MS    live score changes every MS (default 5000; 0 = only POST /_sim/tick)
  --rate-limit N       requests per second before 429 (default: no limit)
  --per-key            count the rate limit per credential
  --retry-after S      Retry-After of the 429s (default 1)
  --lock               a key that goes over is locked for --retry-after seconds
  --bearer TOKEN       require this bearer token (repeatable)
  --basic USER:PASS    require these basic credentials
  --cache-control V    Cache-Control on API answers, e.g. "public, max-age=30"
  --surrogate-keys     add a Surrogate-Key header
  --compress           gzip answers when the client accepts it
  --no-etag            do not send ETag
  --no-last-modified   do not send Last-Modified
  --mode MODE          start in ${SIM_MODES.join(' | ')}
  --seed N             data seed (default 2025)
  --json               print {url, apiUrl, port} as one JSON line
  --help`

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got ${v}`)
  return n
}

function optionsFrom(argv: string[]): { options: SimOptions; json: boolean } | null {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'control-port': { type: 'string' },
      latency: { type: 'string' },
      jitter: { type: 'string' },
      'change-every': { type: 'string' },
      'rate-limit': { type: 'string' },
      'per-key': { type: 'boolean' },
      'retry-after': { type: 'string' },
      lock: { type: 'boolean' },
      bearer: { type: 'string', multiple: true },
      basic: { type: 'string' },
      'cache-control': { type: 'string' },
      'surrogate-keys': { type: 'boolean' },
      compress: { type: 'boolean' },
      'no-etag': { type: 'boolean' },
      'no-last-modified': { type: 'boolean' },
      mode: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (v.help) return null
  if (v.mode !== undefined && !SIM_MODES.includes(v.mode as SimMode))
    throw new Error(`unknown --mode ${v.mode}`)
  const perSecond = num('rate-limit', v['rate-limit'])
  let basic: { username: string; password: string } | undefined
  if (v.basic !== undefined) {
    const i = v.basic.indexOf(':')
    if (i < 0) throw new Error('--basic must be USER:PASS')
    basic = { username: v.basic.slice(0, i), password: v.basic.slice(i + 1) }
  }
  const options: SimOptions = {
    port: num('port', v.port) ?? 9000,
    host: v.host,
    controlPort: num('control-port', v['control-port']),
    latencyMs: num('latency', v.latency),
    jitterMs: num('jitter', v.jitter),
    changeEveryMs: num('change-every', v['change-every']),
    seed: num('seed', v.seed),
    cacheControl: v['cache-control'],
    surrogateKeys: v['surrogate-keys'] ?? false,
    compress: v.compress ?? false,
    etag: !v['no-etag'],
    lastModified: !v['no-last-modified'],
    mode: v.mode as SimMode | undefined,
    rateLimit:
      perSecond === undefined
        ? undefined
        : {
            perSecond,
            perKey: v['per-key'],
            retryAfterSec: num('retry-after', v['retry-after']),
            lock: v.lock,
          },
    auth: v.bearer || basic ? { bearer: v.bearer, basic } : undefined,
  }
  return { options, json: v.json ?? false }
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof optionsFrom>
  try {
    parsed = optionsFrom(process.argv.slice(2))
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`)
    process.exit(2)
  }
  if (!parsed) {
    console.log(USAGE)
    return
  }
  const sim = await startSimUpstream(parsed.options)
  const c = sim.controlUrl
  if (parsed.json) {
    console.log(JSON.stringify({ url: sim.url, apiUrl: sim.apiUrl, port: sim.port, controlUrl: c }))
  } else {
    const live = sim.liveEvents()[0]
    console.log(`sim-upstream listening on ${sim.url}`)
    console.log(`  API base       ${sim.apiUrl}`)
    console.log(`  events         curl ${sim.apiUrl}/2025/events`)
    if (live) console.log(`  live matches   curl ${sim.apiUrl}/${live.season}/matches/${live.code}`)
    console.log(`  outage         curl -X POST '${c}/_sim/mode?mode=503'   (then mode=up)`)
    const refuse = c === sim.url ? 'down-refuse&seconds=10' : 'down-refuse'
    console.log(`  refuse         curl -X POST '${c}/_sim/mode?mode=${refuse}'`)
    console.log(`  stats          curl ${c}/_sim/stats     help: curl ${c}/_sim`)
    if (process.stdin.isTTY)
      console.log(`  stdin          type a mode (${SIM_MODES.join(', ')}), "tick" or "stats"`)
  }
  // Keeps the process alive while the listener is closed ('down-refuse' has no open handle).
  const keepAlive = setInterval(() => {}, 60_000)
  const stop = () => {
    clearInterval(keepAlive)
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin })
    rl.on('line', (line) => {
      const cmd = line.trim()
      if (cmd === 'tick') console.log(JSON.stringify(sim.tick()))
      else if (cmd === 'stats') console.log(JSON.stringify(sim.stats(), null, 2))
      else if (SIM_MODES.includes(cmd as SimMode)) {
        sim.set({ mode: cmd as SimMode }).then(() => console.log(`mode: ${sim.mode}`))
      } else if (cmd) console.log(`unknown command: ${cmd}`)
    })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
