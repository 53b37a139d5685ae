import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import pg from 'pg'
import { type Instance, startCluster } from '../support/cluster.js'
import { findService, type ServiceHandle, startPostgres, startRedis } from '../support/services.js'

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

/** The shared stores every cluster test runs on: the same promises hold on each. */
export type StoreKind = 'redis' | 'postgres'

export interface StoreUnderTest {
  kind: StoreKind
  /** The server binary, or undefined (the suite is skipped loudly, or fails under CISTERN_REQUIRE_SERVICES=1). */
  bin: string | undefined
  /** Why this kind's suites cannot run here, or undefined. */
  skip: string | undefined
}

/** Each kind with its server binary, for `for (const store of STORES) describe.skipIf(store.skip)(...)`. */
export const STORES: readonly StoreUnderTest[] = (['redis', 'postgres'] as const).map((kind) => {
  const bin = findService(kind === 'redis' ? 'redis-server' : 'postgres')
  return { kind, bin, skip: bin ? undefined : `${kind} not installed` }
})

/** A store server of the test's own (a free port, a temp dir). */
export function startStoreServer(store: StoreUnderTest): Promise<ServiceHandle> {
  if (!store.bin) throw new Error(`${store.kind} is not installed`)
  return store.kind === 'redis' ? startRedis(store.bin) : startPostgres(store.bin)
}

/** The `store:` line of an instance's config on `server`. */
export function storeConfig(kind: StoreKind, url: string, namespace = 'cluster'): string {
  return `store: { kind: ${kind}, url: "${url}", namespace: ${namespace} }`
}

/** Three cistern processes on one store server in front of a numbering origin, cached for a minute. */
export interface StoreCluster {
  kind: StoreKind
  server: ServiceHandle
  origin: NumberingOrigin
  instances: Instance[]
  /**
   * The connections each instance reads the invalidation bus on (Redis: named `cistern-bus-*`;
   * Postgres: the LISTEN connection, application_name `cistern-listen`), with whether each is
   * reading again (Redis: its last command an XREAD; Postgres: connected, LISTEN issued).
   */
  busReaders(): Promise<{ id: string; reading: boolean }[]>
  /** Cut every bus reader off on the server side (Redis CLIENT KILL, Postgres pg_terminate_backend). */
  killBusReaders(): Promise<number>
  stop(): Promise<void>
}

export async function startStoreCluster(
  store: StoreUnderTest,
  count = 3,
  /** faketime offset of instance `i`'s wall clock (e.g. '-5s'), or undefined. */
  clockOffset?: (i: number) => string | undefined,
): Promise<StoreCluster> {
  const server = await startStoreServer(store)
  const origin = await startNumberingOrigin()
  const admin = store.kind === 'redis' ? redisAdmin(server.url) : postgresAdmin(server.url)
  const closeAll = async () => {
    await admin.close()
    await origin.close()
    await server.stop()
  }
  try {
    const cluster = await startCluster(count, {
      config: () => `
${storeConfig(store.kind, server.url)}
upstreams:
  origin: { url: "${origin.url}", budget: { rate: 2000/s, burst: 2000 }, timeout: 20s }
routes:
  - path: /data/:id
    upstream: origin
    to: /data/:id
    ttl: 1m
`,
      ...(clockOffset && { clockOffset }),
    })
    return {
      kind: store.kind,
      server,
      origin,
      instances: cluster.instances,
      busReaders: () => admin.busReaders(),
      async killBusReaders() {
        const readers = await admin.busReaders()
        for (const reader of readers) await admin.kill(reader.id)
        return readers.length
      },
      async stop() {
        await cluster.stop()
        await closeAll()
      },
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}

interface ServerAdmin {
  busReaders(): Promise<{ id: string; reading: boolean }[]>
  kill(id: string): Promise<void>
  close(): Promise<void>
}

/** A plain Redis client of the test's own, for CLIENT LIST / CLIENT KILL. */
function redisAdmin(url: string): ServerAdmin {
  const admin = new Redis(url, { lazyConnect: false })
  return {
    async busReaders() {
      return (await clientsNamed(admin, 'cistern-bus-')).map((c) => ({
        id: c.id,
        reading: c.cmd.startsWith('xread'),
      }))
    },
    async kill(id) {
      await admin.client('KILL', 'ID', id)
    },
    async close() {
      admin.disconnect()
    },
  }
}

/** A plain pg client of the test's own (one per query: the server may be killed under it), for pg_stat_activity. */
function postgresAdmin(url: string): ServerAdmin {
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: url, application_name: 'cistern-test-admin' })
    client.on('error', () => {})
    await client.connect()
    try {
      return (await client.query<R>(text, values)).rows
    } finally {
      await client.end().catch(() => {})
    }
  }
  return {
    async busReaders() {
      const rows = await query<{ pid: number; query: string }>(
        `SELECT pid, query FROM pg_stat_activity WHERE application_name = 'cistern-listen'`,
      )
      // The listener's last statement is its LISTEN, then its periodic health check (SELECT 1).
      return rows.map((row) => ({ id: String(row.pid), reading: /^(LISTEN|SELECT 1)/.test(row.query) }))
    },
    async kill(id) {
      await query('SELECT pg_terminate_backend($1)', [Number(id)])
    },
    close: async () => {},
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
