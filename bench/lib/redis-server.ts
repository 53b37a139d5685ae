import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisStore } from '../../src/stores/redis/store.js'
import { freePort, type StoreBench } from './store-beside-sqlite.js'

/**
 * Like startRedis in test/support/services.ts (same flags, same wait for the port), kept apart on
 * purpose: the bench is compiled by tsconfig.build.json into the published dist/, which must not pull
 * in test/ code, and the test version's restart/freeze controls are of no use here. Change both together.
 */
export async function startRedis(): Promise<{ url: string; version: string; stop(): void }> {
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

/** The Redis contender of the store benches, on `redis`. */
export function redisBench(redis: { url: string; version: string }): StoreBench {
  return {
    name: 'redis',
    server: `${redis.version}, ${redis.url.replace(/\/\/.*@/, '//')}`,
    store: (phase) => redisStore({ url: redis.url }, `bench-${phase}`),
    roundCalls: 100_000,
    rounds: 15,
    p99BudgetMs: 1,
  }
}
