/**
 * The body of the out-of-process store benchmarks (bench/postgres.ts, bench/redis.ts): one store
 * measured beside SQLite, so that each bench only has to start its server and name its store.
 *
 * 1. A hit served from the store after a memory-tier miss: createCache({ store, memory: false }), so
 *    every getOrSet reads the store. 1,024 warm keys rotating, ~1 KB JSON value; 20,000 sequential
 *    awaited calls, each timed; percentiles.
 * 2. Hit throughput with a warm memory tier (the default 64MB): alternating rounds of sequential
 *    getOrSet hits per store; the median round of each and their ratio.
 * Every timed call is checked to be a hit (no factory runs), or the run fails.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCache } from '../../src/engine/create-cache.js'
import { sqliteStore } from '../../src/stores/sqlite/index.js'
import type { Store } from '../../src/stores/store.js'
import { VALUES } from './contenders.js'
import { type JsonObject, KEY_COUNT, KEYS, TTL_MS, VALUE_BYTES } from './fixtures.js'
import { machine } from './report.js'

const LATENCY_CALLS = 20_000

export interface StoreBench {
  /** The store's name in the tables: 'postgres', 'redis'. */
  readonly name: string
  /** What ran the store (version, URL without credentials), printed at the top. */
  readonly server: string
  /** A fresh store in its own namespace, one for each part (`phase`), so the two do not share keys. */
  store(phase: 'miss' | 'warm'): Store
  /** Calls per throughput round, and rounds per store. */
  readonly roundCalls: number
  readonly rounds: number
  /** The p99 of part 1 the store is meant to stay under, in ms; the last line says whether it did. */
  readonly p99BudgetMs: number
}

/** A free TCP port on 127.0.0.1, for a server a bench starts. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A cache over `store`, warmed with every key, and a hit that fails the run if it is not one. */
async function warmCache(store: Store, memory: '64MB' | false) {
  const cache = createCache<JsonObject>({ store, memory })
  for (let i = 0; i < KEY_COUNT; i++) await cache.set(KEYS[i]!, VALUES[i]!, { ttl: TTL_MS })
  let next = 0
  const factory = async (): Promise<JsonObject> => {
    throw new Error('factory ran: a timed call was not a hit')
  }
  const options = { ttl: TTL_MS }
  const hit = async () => {
    const result = await cache.getOrSet(KEYS[next++ & (KEY_COUNT - 1)]!, factory, options)
    if (result.status !== 'hit') throw new Error(`status ${result.status}: not a hit`)
  }
  return { cache, hit }
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function latencies(hit: () => Promise<void>): Promise<Float64Array> {
  for (let i = 0; i < 2000; i++) await hit()
  const times = new Float64Array(LATENCY_CALLS)
  for (let i = 0; i < LATENCY_CALLS; i++) {
    const started = process.hrtime.bigint()
    await hit()
    times[i] = Number(process.hrtime.bigint() - started) / 1e6
  }
  return times.sort()
}

async function round(hit: () => Promise<void>, calls: number): Promise<number> {
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await hit()
  return calls / (Number(process.hrtime.bigint() - started) / 1e9)
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const ms = (value: number) => `${value.toFixed(3)} ms`

/** Runs both parts for `bench.store` and SQLite and prints them as Markdown. */
export async function benchStoreBesideSqlite(bench: StoreBench): Promise<void> {
  await benchStoresBesideSqlite([bench], bench)
}

/**
 * Runs both parts for every store of `benches` and SQLite, side by side in one process and one run,
 * and prints them as Markdown. `rounds` and `roundCalls` size part 2 for all of them.
 */
export async function benchStoresBesideSqlite(
  benches: readonly StoreBench[],
  sizes: { rounds: number; roundCalls: number },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-'))
  try {
    console.log(machine())
    for (const bench of benches) console.log(`${bench.name}: ${bench.server}`)
    console.log(`value: ${VALUE_BYTES} bytes of JSON; ${KEY_COUNT} keys rotating\n`)

    const misses = [
      ...(await Promise.all(
        benches.map(async (bench) => [bench.name, await warmCache(bench.store('miss'), false)] as const),
      )),
      [
        'sqlite',
        await warmCache(sqliteStore({ path: join(dir, 'miss.db'), sweepIntervalMs: 0 }), false),
      ] as const,
    ]
    console.log(`## 1. hit from the store after a memory-tier miss (${LATENCY_CALLS} sequential calls)\n`)
    console.log('| store | p50 | p90 | p99 | p99.9 | max |')
    console.log('| --- | --- | --- | --- | --- | --- |')
    const p99s = new Map<string, number>()
    for (const [contender, { cache, hit }] of misses) {
      const times = await latencies(hit)
      p99s.set(contender, percentile(times, 99))
      console.log(
        `| ${contender} | ${[50, 90, 99, 99.9].map((p) => ms(percentile(times, p))).join(' | ')} | ${ms(times[times.length - 1]!)} |`,
      )
      await cache.close()
    }

    const warm = [
      ...(await Promise.all(
        benches.map(async (bench) => [bench.name, await warmCache(bench.store('warm'), '64MB')] as const),
      )),
      [
        'sqlite',
        await warmCache(sqliteStore({ path: join(dir, 'warm.db'), sweepIntervalMs: 0 }), '64MB'),
      ] as const,
    ]
    for (const [, { hit }] of warm) await round(hit, sizes.roundCalls)
    const ops: number[][] = warm.map(() => [])
    for (let r = 0; r < sizes.rounds; r++) {
      // Alternating, so that a busy moment of the machine falls on every store.
      for (const [i, [, { hit }]] of warm.entries()) ops[i]!.push(await round(hit, sizes.roundCalls))
    }
    console.log(
      `\n## 2. hit throughput, warm memory tier (${sizes.rounds} alternating rounds of ${sizes.roundCalls} calls)\n`,
    )
    console.log('| store behind the tier | median ops/s | rounds (ops/s) |')
    console.log('| --- | --- | --- |')
    for (const [i, [contender]] of warm.entries()) {
      console.log(
        `| ${contender} | ${Math.round(median(ops[i]!))} | ${ops[i]!.map((n) => Math.round(n)).join(', ')} |`,
      )
    }
    const sqliteOps = median(ops[warm.length - 1]!)
    console.log('')
    for (const [i, bench] of benches.entries()) {
      const ratio = median(ops[i]!) / sqliteOps
      const difference = (ratio - 1) * 100
      console.log(
        `${bench.name} / sqlite: ${ratio.toFixed(3)} (${difference >= 0 ? '+' : ''}${difference.toFixed(1)}%)`,
      )
    }
    for (const bench of benches) {
      const p99 = p99s.get(bench.name)!
      const under = p99 < bench.p99BudgetMs ? 'under' : 'OVER'
      console.log(`${bench.name} hit after a memory miss, p99: ${ms(p99)} (${under} ${bench.p99BudgetMs} ms)`)
    }
    for (const [, { cache }] of warm) await cache.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
