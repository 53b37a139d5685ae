import type { StoreConfig } from '../config/types.js'
import { CisternError, StoreError } from '../util/errors.js'
import { isStorageFault, reasonOf } from '../util/sqlite/open-file.js'
import type { Coordination } from './coordination.js'
import { memoryStore } from './memory/memory-store.js'
import { postgresCoordinationFor } from './postgres/coordination.js'
import { postgresStore } from './postgres/store.js'
import { RedisConnection } from './redis/connection.js'
import { redisCoordination } from './redis/coordination.js'
import { RedisEntryStore } from './redis/store.js'
import { sqliteStore } from './sqlite/index.js'
import type { Store } from './store.js'
import { unavailableStore } from './unavailable-store.js'

export interface OpenStoreOptions {
  /**
   * Told when the store's file is at fault (disk full, I/O error, corrupt) and cistern runs without it;
   * errors from background work (sweep, eviction) come here too.
   */
  onFault?: (error: Error) => void
}

export interface OpenCoordinationOptions {
  /** This process's id in leases, claims and heartbeats (default: random per start). */
  instanceId?: string
  /** Told of a part that could not start (its calls then fail until the server answers). */
  onError?: (error: unknown, what: string) => void
}

/**
 * What several instances on `store` share beyond the entries, or undefined for a store that is not
 * shared (memory, SQLite: each part then keeps its in-process behaviour). Not started: call start().
 */
export function openCoordination(
  store: Store,
  options: OpenCoordinationOptions = {},
): Coordination | undefined {
  // Postgres: every part is built on the store's own connection (one pool, one breaker).
  const postgres = postgresCoordinationFor(
    store,
    options.instanceId ? { instanceId: options.instanceId } : {},
  )
  if (postgres) return postgres
  if (!(store instanceof RedisEntryStore)) return undefined
  return redisCoordination(store.connection, options)
}

/**
 * The store a config names. A Redis store is usable even when Redis is down at start: its calls fail
 * fast (the engine carries on from memory and the upstream) until the connection comes up.
 */
export function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Store {
  switch (config.kind) {
    case 'memory':
      return memoryStore({ maxSize: config.maxSize })
    case 'sqlite':
      try {
        const store = sqliteStore({
          path: config.path,
          maxSize: config.maxSize,
          ...(options.onFault && { onSweepError: options.onFault }),
        })
        const health = store.health()
        if (!health.ok) options.onFault?.(new StoreError('sqlite', 'open', health.reason))
        return store
      } catch (error) {
        // A full disk or a damaged file must not keep cistern from starting (a crash loop serves no
        // one): run on memory and the upstream, and say so. A path that is simply wrong (a directory,
        // another program's database, a file in use) stays an error at start.
        if (!isStorageFault(error)) throw error
        options.onFault?.(error as Error)
        return unavailableStore('sqlite', reasonOf(error))
      }
    case 'postgres':
      // Opens no connection yet: the pool connects (and the schema is migrated) on first use, so a
      // server that is down at start costs failed calls (memory tier and upstream serve), not a start.
      return postgresStore({
        url: config.url,
        namespace: config.namespace,
        timeoutMs: config.timeout,
        maxSize: config.maxSize,
        ...(options.onFault && { onBackgroundError: options.onFault }),
      })
    case 'redis':
      return new RedisEntryStore({
        connection: new RedisConnection({
          url: config.url,
          namespace: config.namespace,
          timeoutMs: config.timeout,
        }),
        ownsConnection: true,
        maxSize: config.maxSize,
        ...(options.onFault && { onSweepError: options.onFault }),
      })
    default:
      // Every kind the config schema allows is handled above; a value from outside it still gets an error.
      throw new CisternError(
        'E_CONFIG',
        `store.kind "${(config as { kind: string }).kind}" is not available in this build`,
      )
  }
}
