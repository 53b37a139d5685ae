import type { StoreConfig } from '../config/types.js'
import { CisternError, StoreError } from '../util/errors.js'
import { isStorageFault, reasonOf } from '../util/sqlite/open-file.js'
import { memoryStore } from './memory/memory-store.js'
import { postgresStore } from './postgres/store.js'
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

/** The store a config names. Redis and Postgres drivers join here when they land. */
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
    default:
      throw new CisternError('E_CONFIG', `store.kind "${config.kind}" is not available in this build yet`)
  }
}
