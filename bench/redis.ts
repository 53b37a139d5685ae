/**
 * Redis store benchmark, `npm run bench:redis`: one run, one process, a redis-server of its own on a
 * free loopback port (or REDIS_URL).
 *
 * 1. A hit served from Redis after a memory-tier miss: createCache({ store: redisStore, memory: false }),
 *    so every getOrSet reads Redis (one EVALSHA round trip, the entry and its LRU touch). 1,024 warm
 *    keys rotating, ~1 KB JSON value; 20,000 sequential awaited calls, each timed; percentiles.
 *    SQLite the same way beside it, for reference.
 * 2. Hit throughput with a warm memory tier, on Redis and on SQLite: createCache({ store }) with the
 *    default 64MB tier; rounds of 100,000 sequential getOrSet hits, alternating between the two stores,
 *    15 rounds each; the median round of each and their ratio.
 * Every timed call is checked to be a hit (no factory runs), or the run fails. The measuring is
 * bench/lib/store-beside-sqlite.ts, shared with bench/postgres.ts; this file starts the server.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisStore } from '../src/stores/redis/store.js'
import { benchStoreBesideSqlite, freePort } from './lib/store-beside-sqlite.js'

/**
 * Like startRedis in test/support/services.ts (same flags, same wait for the port), kept apart on
 * purpose: the bench is compiled by tsconfig.build.json into the published dist/, which must not pull
 * in test/ code, and the test version's restart/freeze controls are of no use here. Change both together.
 */
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

const redis = await startRedis()
try {
  await benchStoreBesideSqlite({
    name: 'redis',
    server: `${redis.version}, ${redis.url.replace(/\/\/.*@/, '//')}`,
    store: (phase) => redisStore({ url: redis.url }, `bench-${phase}`),
    roundCalls: 100_000,
    rounds: 15,
    p99BudgetMs: 1,
  })
} finally {
  redis.stop()
}
