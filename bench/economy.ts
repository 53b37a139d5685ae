/**
 * Upstream-economy benchmark: what each upstream call buys, against the fewest calls and bytes that
 * could serve the same reads as fresh. See docs/benchmarks.md#upstream-economy for the method and
 * the definitions; `npm run bench:economy -- --help` for the options.
 *
 * Simulated time: cistern (gateway, budget, refresh scheduler) and the simulated upstream run on one
 * clock that the benchmark moves, so hours of traffic take minutes. Upstream calls are real HTTP to
 * the simulated upstream on 127.0.0.1; each client read enters the gateway where a GET of a cached
 * route does (the memory-tier hit, else the engine with the route's fetch), without the socket.
 */
import { writeFileSync } from 'node:fs'
import { startSimUpstream } from '../examples/sim-upstream/index.js'
import { createRng } from '../examples/sim-upstream/prng.js'
import { type Cistern, startCistern } from '../src/app/cistern.js'
import { parseConfig } from '../src/config/index.js'
import type { StoredResponse } from '../src/gateway/response/stored-response.js'
import { requestKey } from '../src/gateway/routing/cache-key.js'
import { routeFetch } from '../src/gateway/server/route-fetch.js'
import { isFresh } from '../src/model/freshness.js'
import { parseDuration } from '../src/util/units.js'
import { SimClock } from './economy/clock.js'
import { type KeyTrace, logGrid, pollingMinimumFor, readThrough } from './economy/minimum.js'
import { parseWorkload, USAGE, type Workload, Zipf } from './economy/workload.js'
import { machine } from './lib/report.js'

/**
 * Reads are spread within a tick; upstream calls started in it are answered at its end, so they reach
 * the upstream's one-second rate windows in the second they were paced for (a longer tick would pile
 * two seconds of calls into one window).
 */
const TICK_MS = 1000
const START = Date.UTC(2026, 0, 5, 12)

const percentile = (sorted: ArrayLike<number>, q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const round = (n: number, digits = 0) => Number(n.toFixed(digits))

function configYaml(w: Workload, upstreamUrl: string): string {
  const bounds = w.every === 'adaptive' ? `, min: ${w.min}, max: ${w.max}` : ''
  return `
listen: 127.0.0.1:0
store: { kind: memory, memory: 512MB }
log: { level: error }
upstreams:
  sim: { url: "${upstreamUrl}", budget: { rate: ${w.budget}, burst: 20, concurrency: 128 } }
routes:
  - name: items
    path: /items/:id
    to: /catalogue/items/:id
    ttl: ${w.ttl}
    refresh: { every: ${w.every}${bounds} }
`
}

/** Grows by doubling; typed, so ten million reads stay compact. */
class Column<T extends Float64Array | Uint32Array | Float32Array> {
  data: T
  length = 0
  constructor(readonly make: (n: number) => T) {
    this.data = make(1 << 20)
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = value
  }
  view(): T {
    return this.data.subarray(0, this.length) as T
  }
}

/**
 * Whether upstream work is under way that only real time (sockets) can finish: a call holding a
 * budget permit, a refresh running that is not waiting for a permit (which only the clock brings),
 * or a call the simulator has not answered yet.
 */
function busy(cistern: Cistern, sim: { calls: readonly { status?: number }[] }): boolean {
  let waiting = 0
  for (const upstream of cistern.gateway.upstreams.values()) {
    const budget = upstream.budget?.snapshot()
    if (!budget) continue
    if (budget.keys.some((key) => key.inFlight > 0)) return true
    waiting += budget.waiting.background + budget.waiting.foreground
  }
  return (
    cistern.refresh.scheduler.snapshot().running > waiting ||
    sim.calls.some((call) => call.status === undefined)
  )
}

/** Let the calls under way finish before the clock moves on (as if the upstream answered within a tick). */
async function settle(cistern: Cistern, sim: { calls: readonly { status?: number }[] }): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    for (let i = 0; i < 5; i++) await Promise.resolve()
    if (!busy(cistern, sim)) return
    await new Promise((resolve) => setImmediate(resolve))
    if (Date.now() > deadline) throw new Error('upstream calls did not settle within 30 s of real time')
  }
}

async function run(w: Workload) {
  const clock = new SimClock(START)
  const sim = await startSimUpstream({
    now: clock.now,
    changeEveryMs: false,
    seed: w.seed,
    catalogue: { items: w.keys, classes: w.classes, seed: w.seed },
    rateLimit: { perSecond: w.upstreamPerSecond },
  })
  const catalogue = sim.catalogue!
  const config = parseConfig(configYaml(w, sim.url), 'economy.yaml', {})
  const cistern = await startCistern(config, {
    admin: false,
    now: clock.now,
    timers: clock,
    refresh: { dbPath: ':memory:' },
  })
  const ctx = cistern.gateway.context
  const keys = Array.from({ length: w.keys }, (_, id) => {
    const path = `/items/${id}`
    const match = ctx.router.match('GET', path)
    if (match.kind !== 'route') throw new Error(`no route for ${path}`)
    return { route: match.route, params: match.params, key: requestKey(match.route, path, '', {}) }
  })

  const readKey = new Column((n) => new Uint32Array(n))
  const readAt = new Column((n) => new Float64Array(n))
  const readStale = new Column((n) => new Float32Array(n))
  const staleByKey = new Float64Array(w.keys)
  const versions = new WeakMap<StoredResponse, number>()
  let errors = 0
  let notOk = 0

  const served = (id: number, value: StoredResponse, at: number) => {
    if (value.status !== 200) {
      notOk++
      return
    }
    let version = versions.get(value)
    if (version === undefined) {
      version = (JSON.parse(value.body.toString('utf8')) as { version: number }).version
      versions.set(value, version)
    }
    const lacked = catalogue.changeAfter(id, version, at)
    const stale = lacked <= at ? at - lacked : 0
    readKey.push(id)
    readAt.push(at - START)
    readStale.push(stale)
    staleByKey[id]! += stale
  }

  /** One client GET of /items/:id, as the gateway serves a cached route (handle-cached.ts), minus HTTP. */
  const read = (id: number) => {
    const { route, params, key } = keys[id]!
    const now = clock.now()
    const record = ctx.cache.peekMemory(key)
    if (record !== undefined && isFresh(record.entry, now)) {
      ctx.onRead?.(key, route.config)
      served(id, record.value, now)
      return
    }
    const { factory, options } = routeFetch(ctx, route, params, '', {}, route.responseVary)
    ctx.cache.getOrSet(key, factory, options).then(
      (result) => {
        if (result.stored) ctx.onRead?.(key, route.config)
        served(id, result.value, clock.now())
      },
      (error: unknown) => {
        if (errors++ < 3)
          process.stderr.write(`  read failed: ${error instanceof Error ? error.message : String(error)}\n`)
      },
    )
  }

  const zipf = new Zipf(w.keys, w.zipf, w.seed)
  const jitter = createRng(w.seed + 1)
  const startedAt = Date.now()
  let carry = 0
  let requests = 0
  let waitedMs = 0
  for (let t = 0; t < w.durationMs; t += TICK_MS) {
    const rate = w.readsPerSecond * Math.min(1, (t + TICK_MS / 2) / Math.max(1, w.rampMs))
    carry += (rate * TICK_MS) / 1000
    const n = Math.floor(carry)
    carry -= n
    for (let i = 0; i < n; i++) {
      clock.advanceTo(START + t + ((i + jitter.next()) * TICK_MS) / n)
      read(zipf.next())
      requests++
    }
    clock.advanceTo(START + t + TICK_MS)
    const waitStarted = Date.now()
    await settle(cistern, sim)
    waitedMs += Date.now() - waitStarted
    if ((t + TICK_MS) % 600_000 === 0) {
      const s = sim.stats()
      process.stderr.write(
        `  ${(t + TICK_MS) / 60_000} min simulated, ${((Date.now() - startedAt) / 1000).toFixed(0)} s real: ${requests} reads, ${s.total} upstream calls\n`,
      )
    }
  }
  const realSeconds = (Date.now() - startedAt) / 1000
  process.stderr.write(
    `  ${(waitedMs / 1000).toFixed(1)} s of ${realSeconds.toFixed(1)} s waiting for upstream answers\n`,
  )
  const simStats = sim.stats()
  const items = catalogue.stats()
  const snapshot = cistern.refresh.scheduler.snapshot()
  const refreshes = Object.values(snapshot.byPriority).reduce((sum, p) => sum + p.refreshed + p.failed, 0)
  await cistern.close(1000)
  await sim.close()

  // Each key's reads (in time order) and changes, for the yardsticks.
  const byKey: number[][] = Array.from({ length: w.keys }, () => [])
  const ids = readKey.view()
  const ats = readAt.view()
  for (let i = 0; i < ids.length; i++) byKey[ids[i]!]!.push(ats[i]!)
  const traces: KeyTrace[] = byKey.map((reads, id) => ({
    reads: Float64Array.from(reads).sort(),
    changes: catalogue.changesUntil(id, START + w.durationMs).map((at) => at - START),
  }))
  const min = parseDuration(w.min)
  const max = parseDuration(w.max)
  const grid = logGrid(min, max)
  const reached = pollingMinimumFor(
    traces.map((trace, id) => ({ trace, reachedStaleMs: staleByKey[id]! })),
    grid,
  )
  const callsOfKey = (id: number) => simStats.byPath[`/catalogue/items/${id}`] ?? 0
  const fixedEvery = w.every === 'adaptive' ? undefined : parseDuration(w.every)
  const atEvery =
    fixedEvery === undefined
      ? undefined
      : traces.reduce((sum, t) => sum + readThrough(t, fixedEvery).calls, 0)

  if (w.details) {
    const rows = traces.map((trace, id) => {
      const one = pollingMinimumFor([{ trace, reachedStaleMs: staleByKey[id]! }], grid)
      return [
        id,
        catalogue.classOf(id),
        trace.reads.length,
        trace.changes.length,
        callsOfKey(id),
        one.calls,
        round(staleByKey[id]! / Math.max(1, trace.reads.length), 1),
      ].join('\t')
    })
    writeFileSync(w.details, `id\tclass\treads\tchanges\tcalls\tminimum\tmeanStale\n${rows.join('\n')}\n`)
  }
  const stale = readStale.view().slice().sort()
  const byClass = w.classes.map((c, index) => {
    const values: number[] = []
    for (let i = 0; i < ids.length; i++)
      if (catalogue.classOf(ids[i]!) === index) values.push(readStale.data[i]!)
    values.sort((a, b) => a - b)
    const inClass = traces.flatMap((_, id) => (catalogue.classOf(id) === index ? [id] : []))
    const minimum = pollingMinimumFor(
      inClass.map((id) => ({ trace: traces[id]!, reachedStaleMs: staleByKey[id]! })),
      grid,
    )
    const classCalls = inClass.reduce((sum, id) => sum + callsOfKey(id), 0)
    return {
      class: c.name,
      keys: inClass.length,
      upstreamCalls: classCalls,
      pollingMinimum: minimum.calls,
      reads: values.length,
      staleReads: values.filter((v) => v > 0).length,
      staleP50Ms: round(percentile(values, 0.5)),
      staleP99Ms: round(percentile(values, 0.99)),
      staleMeanMs: round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), 1),
    }
  })
  const calls = simStats.total
  return {
    workload: { ...w, durationMs: undefined, duration: `${round(w.durationMs / 3_600_000, 2)}h` },
    realSeconds: round(realSeconds, 1),
    requests,
    served: ids.length,
    clientErrors: errors + notOk,
    upstreamCalls: calls,
    callsPerRequestPercent: round((100 * calls) / requests, 3),
    refreshes,
    pollingMinimum: {
      forReachedStaleness: reached.calls,
      callsOverIt: round(calls / reached.calls, 3),
      keysFresherThanPollerAtMin: reached.keysBelowMin,
      ...(atEvery !== undefined && { atEvery, callsOverAtEvery: round(calls / atEvery, 3) }),
    },
    bodies: {
      sent: items.bodies,
      notModified: items.notModified,
      bytes: items.bodyBytes,
      changeMinimumBytes: items.changeMinimumBytes,
      bytesOverMinimum: round(items.bodyBytes / items.changeMinimumBytes, 3),
    },
    staleness: {
      p50Ms: round(percentile(stale, 0.5)),
      p99Ms: round(percentile(stale, 0.99)),
      maxMs: round(stale.at(-1) ?? 0),
      staleReadsPercent: round((100 * stale.filter((v) => v > 0).length) / Math.max(1, stale.length), 2),
      byClass,
    },
    budgetViolations: simStats.limited,
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv.includes('--help')) {
    console.log(USAGE)
    return
  }
  let workload: Workload
  try {
    workload = parseWorkload(argv)
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  console.log(machine())
  const result = await run(workload)
  console.log(JSON.stringify(result, null, 2))
}

await main()
