/**
 * Redis store benchmark, `npm run bench:redis`: one run, one process, a redis-server of its own on a
 * free loopback port (or REDIS_URL).
 *
 * 1. A hit served from Redis after a memory-tier miss: createCache({ store: redisStore, memory: false }),
 *    so every getOrSet reads Redis (one EVALSHA round trip, the entry and its LRU touch). 1,024 warm
 *    keys rotating, ~1 KB JSON value; 20,000 sequential awaited calls, each timed; percentiles.
 *    SQLite the same way beside it, for reference.
 * 2. Hit throughput with a warm memory tier, on Redis and on SQLite: createCache({ store }) with the
 *    default 64MB tier; rounds of 200,000 sequential getOrSet hits, alternating between the two stores,
 *    7 rounds each; the median round of each and their ratio.
 * Every timed call is checked to be a hit (no factory runs), or the run fails.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCache } from '../src/engine/create-cache.js'
import { redisStore } from '../src/stores/redis/store.js'
import { sqliteStore } from '../src/stores/sqlite/index.js'
import type { Store } from '../src/stores/store.js'
import { VALUES } from './lib/contenders.js'
import { type JsonObject, KEY_COUNT, KEYS, TTL_MS, VALUE_BYTES } from './lib/fixtures.js'
import { machine } from './lib/report.js'

const LATENCY_CALLS = 20_000
const ROUND_CALLS = 200_000
const ROUNDS = 7

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function startRedis(): Promise<{ url: string; version: string; stop(): void }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, version: 'given by REDIS_URL', stop() {} }
  const binary = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => join(dir, 'redis-server'))
    .find((path) => existsSync(path))
  if (!binary)
    throw new Error('redis-server is not installed (apt-get install -y redis-server), or set REDIS_URL')
  const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-redis-'))
  const port = await freePort()
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket()
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
      socket.connect(port, '127.0.0.1')
    })
    if (open) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const version = execFileSync(binary, ['--version']).toString().trim()
  return {
    url: `redis://127.0.0.1:${port}`,
    version,
    stop() {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
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

async function round(hit: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint()
  for (let i = 0; i < ROUND_CALLS; i++) await hit()
  return ROUND_CALLS / (Number(process.hrtime.bigint() - started) / 1e9)
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const ms = (value: number) => `${value.toFixed(3)} ms`

const redis = await startRedis()
const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-'))
try {
  console.log(machine())
  console.log(`redis: ${redis.version}, ${redis.url.replace(/\/\/.*@/, '//')}`)
  console.log(`value: ${VALUE_BYTES} bytes of JSON; ${KEY_COUNT} keys rotating\n`)

  const redisMiss = await warmCache(redisStore({ url: redis.url }, 'bench-miss'), false)
  const sqliteMiss = await warmCache(sqliteStore({ path: join(dir, 'miss.db'), sweepIntervalMs: 0 }), false)
  console.log(`## 1. hit from the store after a memory-tier miss (${LATENCY_CALLS} sequential calls)\n`)
  console.log('| store | p50 | p90 | p99 | p99.9 | max |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  let redisP99 = 0
  for (const [name, contender] of [
    ['redis', redisMiss],
    ['sqlite', sqliteMiss],
  ] as const) {
    const times = await latencies(contender.hit)
    if (name === 'redis') redisP99 = percentile(times, 99)
    console.log(
      `| ${name} | ${[50, 90, 99, 99.9].map((p) => ms(percentile(times, p))).join(' | ')} | ${ms(times[times.length - 1]!)} |`,
    )
  }
  await redisMiss.cache.close()
  await sqliteMiss.cache.close()

  const redisWarm = await warmCache(redisStore({ url: redis.url }, 'bench-warm'), '64MB')
  const sqliteWarm = await warmCache(sqliteStore({ path: join(dir, 'warm.db'), sweepIntervalMs: 0 }), '64MB')
  for (const contender of [redisWarm, sqliteWarm]) await round(contender.hit)
  const ops: Record<'redis' | 'sqlite', number[]> = { redis: [], sqlite: [] }
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating, so that a busy moment of the machine falls on both.
    ops.redis.push(await round(redisWarm.hit))
    ops.sqlite.push(await round(sqliteWarm.hit))
  }
  const redisOps = median(ops.redis)
  const sqliteOps = median(ops.sqlite)
  console.log(
    `\n## 2. hit throughput, warm memory tier (${ROUNDS} alternating rounds of ${ROUND_CALLS} calls)\n`,
  )
  console.log('| store behind the tier | median ops/s | rounds (ops/s) |')
  console.log('| --- | --- | --- |')
  for (const name of ['redis', 'sqlite'] as const) {
    console.log(
      `| ${name} | ${Math.round(median(ops[name]))} | ${ops[name].map((n) => Math.round(n)).join(', ')} |`,
    )
  }
  const difference = (redisOps / sqliteOps - 1) * 100
  console.log(
    `\nredis / sqlite: ${(redisOps / sqliteOps).toFixed(3)} (${difference >= 0 ? '+' : ''}${difference.toFixed(1)}%)`,
  )
  console.log(`redis hit after a memory miss, p99: ${ms(redisP99)} (${redisP99 < 1 ? 'under' : 'OVER'} 1 ms)`)
  await redisWarm.cache.close()
  await sqliteWarm.cache.close()
} finally {
  redis.stop()
  rmSync(dir, { recursive: true, force: true })
}
