import { randomUUID } from 'node:crypto'
import { StoreError } from '../../util/errors.js'
import type { Coordination } from '../coordination.js'
import type { Store } from '../store.js'
import { createPostgresBus, type PostgresBusOptions } from './bus.js'
import { createPostgresCeiling } from './ceiling.js'
import { createPostgresChangeLog, type PostgresChangeLogOptions } from './change-log.js'
import type { PostgresConnection } from './connection.js'
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js'
import { createPostgresLeases } from './leases.js'
import { createPostgresOnce } from './once.js'
import { createPostgresRefreshClaims, type PostgresRefreshClaimsOptions } from './refresh-claims.js'
import { isPostgresStore } from './store.js'

export interface PostgresCoordinationOptions {
  /** This process's id (default: random per start). */
  instanceId?: string
  bus?: PostgresBusOptions
  heartbeat?: HeartbeatOptions
  changes?: PostgresChangeLogOptions
  refreshClaims?: PostgresRefreshClaimsOptions
  /** How often old rows (bus messages, expired leases, once records, done markers) are trimmed (default 30 s). */
  trimEveryMs?: number
}

/**
 * Everything several cistern instances on one Postgres share beyond the entries (coordination.ts),
 * on the store's connection: one pool, one breaker, one schema, one LISTEN connection.
 *
 * start() brings the schema up to date and starts the heartbeat and the bus. A server that does not
 * answer at start is not an error (the instance runs on its local fallbacks, and the parts catch up
 * when it answers); a schema this cistern cannot use is.
 */
export function postgresCoordination(
  connection: PostgresConnection,
  options: PostgresCoordinationOptions = {},
): Coordination {
  const instanceId = options.instanceId ?? randomUUID()
  const heartbeat = new Heartbeat(connection, instanceId, options.heartbeat)
  const bus = createPostgresBus(connection, instanceId, options.bus)
  const leases = createPostgresLeases(connection, instanceId)
  const claims = createPostgresRefreshClaims(connection, instanceId, options.refreshClaims)
  const changes = createPostgresChangeLog(connection, options.changes)
  const once = createPostgresOnce(connection)
  let trimmer: NodeJS.Timeout | undefined

  const trim = () => {
    if (!connection.healthy()) return
    for (const part of [bus, leases, claims, once]) part.trim().catch(() => {})
  }

  return {
    name: 'postgres',
    instanceId,
    invalidations: bus,
    leases,
    ceiling: createPostgresCeiling(connection, heartbeat),
    refreshClaims: claims,
    changes,
    once,
    healthy: () => connection.healthy(),
    async start() {
      try {
        await connection.migrate('start')
      } catch (error) {
        if (!(error instanceof StoreError && error.code === 'E_STORE_TIMEOUT')) throw error
      }
      await heartbeat.start()
      await bus.start()
      trimmer = setInterval(trim, options.trimEveryMs ?? 30_000)
      trimmer.unref()
    },
    async close() {
      clearInterval(trimmer)
      bus.close()
      changes.close()
      await heartbeat.stop()
    },
  }
}

/**
 * The coordination of a store opened by openStore for kind postgres, on the store's own connection
 * (one pool, one breaker); undefined for any other store. Not started: call start().
 */
export function postgresCoordinationFor(
  store: Store,
  options: PostgresCoordinationOptions = {},
): Coordination | undefined {
  return isPostgresStore(store) ? postgresCoordination(store.connection, options) : undefined
}
