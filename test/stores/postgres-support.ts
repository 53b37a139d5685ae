import { afterAll, beforeAll } from 'vitest'
import { PostgresConnection, type PostgresConnectionOptions } from '../../src/stores/postgres/connection.js'
import { findService, type ServiceHandle, startPostgres } from '../support/services.js'

/** The PostgreSQL binary, or undefined (the suites using it are skipped loudly, or fail under CI). */
export const postgresBin = findService('postgres')

/**
 * A PostgreSQL server of this test file's own, started before its tests and stopped after, and
 * connections to it each in a fresh schema (so tests never see each other's rows). Connections made
 * through `connect` are closed after all tests.
 */
export function usePostgres(): {
  readonly server: ServiceHandle
  connect(options?: Omit<PostgresConnectionOptions, 'url' | 'pool'>): PostgresConnection
  /** A namespace no test used yet. */
  namespace(): string
} {
  let server: ServiceHandle | undefined
  let n = 0
  const open: PostgresConnection[] = []
  beforeAll(async () => {
    server = await startPostgres(postgresBin!)
  }, 60_000)
  afterAll(async () => {
    for (const connection of open) await connection.close()
    await server?.stop()
  }, 30_000)
  const namespace = () => `t${process.pid}_${++n}`
  return {
    get server() {
      if (!server) throw new Error('postgres not started')
      return server
    },
    namespace,
    connect(options = {}) {
      const connection = new PostgresConnection({ url: server!.url, namespace: namespace(), ...options })
      open.push(connection)
      return connection
    },
  }
}

/** Polls `check` every 10 ms until it holds or `ms` pass; returns whether it held. Bounded. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return check()
}
