/**
 * Postgres store benchmark, `npm run bench:postgres`: one run, one process, a PostgreSQL cluster of
 * its own (initdb in a temp dir, a free loopback port; or POSTGRES_URL), SQLite beside it.
 *
 * 1. A hit served from the store after a memory-tier miss: createCache({ store, memory: false }), so
 *    every getOrSet reads the store (Postgres: one prepared SELECT on a pooled connection). 1,024 warm
 *    keys rotating, ~1 KB JSON value; 20,000 sequential awaited calls, each timed; percentiles.
 * 2. Hit throughput with a warm memory tier (the default 64MB): 7 alternating rounds of 200,000
 *    sequential getOrSet hits per store; the median round of each.
 * Every timed call is checked to be a hit (no factory runs), or the run fails. The server runs with
 * its defaults but fsync (a cache's loss on a crash is bounded anyway; reads do not touch it).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createCache } from '../src/engine/create-cache.js'
import { postgresStore } from '../src/stores/postgres/store.js'
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

function postgresBinaries(): string {
  const root = '/usr/lib/postgresql'
  const major = existsSync(root) ? readdirSync(root).sort().reverse()[0] : undefined
  if (!major)
    throw new Error('PostgreSQL is not installed (apt-get install -y postgresql), or set POSTGRES_URL')
  return join(root, major, 'bin')
}

async function startPostgres(): Promise<{ url: string; version: string; stop(): void }> {
  if (process.env.POSTGRES_URL)
    return { url: process.env.POSTGRES_URL, version: 'given by POSTGRES_URL', stop() {} }
  const bin = postgresBinaries()
  const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-pg-'))
  // initdb refuses root: as root, the cluster belongs to the postgres user.
  const owner =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
          gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
        }
      : undefined
  if (owner) execFileSync('chown', ['postgres', dir])
  const data = join(dir, 'data')
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
    {
      stdio: 'ignore',
      ...owner,
    },
  )
  const port = await freePort()
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off'],
    { stdio: 'ignore', ...owner },
  )
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let version = ''
  for (let i = 0; ; i++) {
    const client = new pg.Client(url)
    try {
      await client.connect()
      version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v.split(' on ')[0]!
      await client.end()
      break
    } catch (error) {
      await client.end().catch(() => {})
      if (i > 200) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    url,
    version,
    stop() {
      child.kill('SIGINT')
      child.once('exit', () => rmSync(dir, { recursive: true, force: true }))
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

const server = await startPostgres()
const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-'))
try {
  console.log(machine())
  console.log(`postgres: ${server.version}, ${server.url.replace(/\/\/.*@/, '//')}`)
  console.log(`value: ${VALUE_BYTES} bytes of JSON; ${KEY_COUNT} keys rotating\n`)

  const misses = {
    postgres: await warmCache(
      postgresStore({ url: server.url, namespace: 'bench_miss', sweepIntervalMs: 0 }),
      false,
    ),
    sqlite: await warmCache(sqliteStore({ path: join(dir, 'miss.db'), sweepIntervalMs: 0 }), false),
  }
  console.log(`## 1. hit from the store after a memory-tier miss (${LATENCY_CALLS} sequential calls)\n`)
  console.log('| store | p50 | p90 | p99 | p99.9 | max |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  let postgresP99 = 0
  for (const [name, contender] of Object.entries(misses)) {
    const times = await latencies(contender.hit)
    if (name === 'postgres') postgresP99 = percentile(times, 99)
    console.log(
      `| ${name} | ${[50, 90, 99, 99.9].map((p) => ms(percentile(times, p))).join(' | ')} | ${ms(times[times.length - 1]!)} |`,
    )
    await contender.cache.close()
  }

  const warm = {
    postgres: await warmCache(
      postgresStore({ url: server.url, namespace: 'bench_warm', sweepIntervalMs: 0 }),
      '64MB',
    ),
    sqlite: await warmCache(sqliteStore({ path: join(dir, 'warm.db'), sweepIntervalMs: 0 }), '64MB'),
  }
  for (const contender of Object.values(warm)) await round(contender.hit)
  const ops: Record<keyof typeof warm, number[]> = { postgres: [], sqlite: [] }
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating, so that a busy moment of the machine falls on both.
    for (const name of ['postgres', 'sqlite'] as const) ops[name].push(await round(warm[name].hit))
  }
  console.log(
    `\n## 2. hit throughput, warm memory tier (${ROUNDS} alternating rounds of ${ROUND_CALLS} calls)\n`,
  )
  console.log('| store behind the tier | median ops/s | rounds (ops/s) |')
  console.log('| --- | --- | --- |')
  for (const name of ['postgres', 'sqlite'] as const) {
    console.log(
      `| ${name} | ${Math.round(median(ops[name]))} | ${ops[name].map((n) => Math.round(n)).join(', ')} |`,
    )
  }
  console.log(
    `\npostgres hit after a memory miss, p99: ${ms(postgresP99)} (${postgresP99 < 2 ? 'under' : 'OVER'} 2 ms)`,
  )
  for (const contender of Object.values(warm)) await contender.cache.close()
} finally {
  server.stop()
  rmSync(dir, { recursive: true, force: true })
}
