import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { type ServiceHandle, startRedis } from '../support/services.js'

/** A connection that has connected: commands are not queued while connecting, so tests wait first. */
export async function connected(
  url: string,
  namespace: string,
  timeoutMs?: number,
): Promise<RedisConnection> {
  const connection = new RedisConnection({ url, namespace, ...(timeoutMs !== undefined && { timeoutMs }) })
  if (connection.client.status !== 'ready') await once(connection.client, 'ready')
  return connection
}

/** One redis-server for a test file, and the connections its tests open on it. */
export interface RedisFixture {
  readonly url: string
  /** Every connection opened in the current test (tests may push their own); all closed after it. */
  readonly connections: RedisConnection[]
  /** A namespace no other test uses, so tests do not see each other's keys. */
  namespace(): string
  /** A connected connection, closed after the test. */
  connect(namespace: string, timeoutMs?: number): Promise<RedisConnection>
  /**
   * `n` instances on one fresh namespace, each with its own connection as separate processes would
   * have: `make(connection, 'instance-<i>')`.
   */
  instances<T>(n: number, make: (connection: RedisConnection, name: string) => T | Promise<T>): Promise<T[]>
}

/**
 * Call inside a `describe`: starts the server before its tests, closes each test's connections after
 * it and stops the server after all. Hooks the file registers later run before these (vitest runs
 * after-hooks in reverse), so a test's own afterEach can close what sits on a connection first.
 */
export function redisFixture(bin: string): RedisFixture {
  let server: ServiceHandle | undefined
  const connections: RedisConnection[] = []
  beforeAll(async () => {
    server = await startRedis(bin)
  })
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()))
  })
  afterAll(async () => {
    await server?.stop()
  })
  const fixture: RedisFixture = {
    get url() {
      if (!server) throw new Error('the redis fixture is used before its beforeAll ran')
      return server.url
    },
    connections,
    namespace: () => `t${randomUUID().slice(0, 8)}`,
    async connect(namespace, timeoutMs) {
      const connection = await connected(fixture.url, namespace, timeoutMs)
      connections.push(connection)
      return connection
    },
    async instances(n, make) {
      // One after another, so that `connections[i]` is instance i's (tests cut one instance off).
      const namespace = fixture.namespace()
      const made = []
      for (let i = 0; i < n; i++) made.push(await make(await fixture.connect(namespace), `instance-${i}`))
      return made
    },
  }
  return fixture
}
