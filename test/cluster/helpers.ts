import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { completeParts, REDIS_PARTS } from '../../src/stores/redis/parts.js'
import { type Instance, startCluster } from '../support/cluster.js'
import { type ServiceHandle, startRedis } from '../support/services.js'

/**
 * An upstream for the cluster tests that numbers its answers: the n-th call of a path answers
 * `{ path, n }`, so a test can tell which fetch a client was served. `delays` holds how long each of
 * the next calls waits before answering (first in, first out; none left: at once).
 */
export interface NumberingOrigin {
  readonly url: string
  /** Calls per path. */
  calls(path: string): number
  delays: number[]
  close(): Promise<void>
}

export async function startNumberingOrigin(): Promise<NumberingOrigin> {
  const counts = new Map<string, number>()
  const delays: number[] = []
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    const n = (counts.get(path) ?? 0) + 1
    counts.set(path, n)
    const delay = delays.shift() ?? 0
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ path, n }))
    }, delay)
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls: (path) => counts.get(path) ?? 0,
    delays,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * Whether this build has every Redis coordination part: without all six, instances on one Redis share
 * the entries only (startCistern says so in its log), and the cluster tests cannot pass. Says why not.
 */
export function coordinationMissing(): string | undefined {
  const parts = completeParts(REDIS_PARTS)
  if (!Array.isArray(parts)) return undefined
  const message = `Redis coordination parts missing from this build (${parts.join(', ')}): cluster tests SKIPPED`
  console.warn(`\n*** ${message} ***\n`)
  return message
}

/** Three cistern processes on one Redis in front of a numbering origin, cached for a minute. */
export interface RedisCluster {
  redis: ServiceHandle
  /** A plain client of the test's own, for CLIENT LIST / CLIENT KILL. */
  admin: Redis
  origin: NumberingOrigin
  instances: Instance[]
  stop(): Promise<void>
}

export async function startRedisCluster(bin: string, count = 3): Promise<RedisCluster> {
  const redis = await startRedis(bin)
  const origin = await startNumberingOrigin()
  const admin = new Redis(redis.url, { lazyConnect: false })
  try {
    const cluster = await startCluster(count, {
      config: () => `
store: { kind: redis, url: "${redis.url}", namespace: cluster }
upstreams:
  origin: { url: "${origin.url}", budget: { rate: 2000/s, burst: 2000 }, timeout: 20s }
routes:
  - path: /data/:id
    upstream: origin
    to: /data/:id
    ttl: 1m
`,
    })
    return {
      redis,
      admin,
      origin,
      instances: cluster.instances,
      async stop() {
        await cluster.stop()
        admin.disconnect()
        await origin.close()
        await redis.stop()
      },
    }
  } catch (error) {
    admin.disconnect()
    await origin.close()
    await redis.stop()
    throw error
  }
}

/** The Redis connections whose CLIENT SETNAME starts with `prefix`: their id, name and last command. */
export async function clientsNamed(
  admin: Redis,
  prefix: string,
): Promise<{ id: string; name: string; cmd: string }[]> {
  const list = (await admin.client('LIST')) as string
  const field = (line: string, name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? ''
  return list
    .split('\n')
    .map((line) => ({ id: field(line, 'id'), name: field(line, 'name'), cmd: field(line, 'cmd') }))
    .filter((c) => c.id !== '' && c.name.startsWith(prefix))
}

/** The body's `n` (which upstream call it came from) and the cache status of a GET. */
export async function read(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; n: number; xcache: string }> {
  const res = await fetch(url, { headers })
  const body = (await res.json()) as { n: number }
  return { status: res.status, n: body.n, xcache: res.headers.get('x-cache-status') ?? '' }
}

export async function until(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
