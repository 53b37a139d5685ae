import type { StoreConfig } from '../config/types.js'
import { CisternError } from '../util/errors.js'
import { memoryStore } from './memory/memory-store.js'
import { sqliteStore } from './sqlite/index.js'
import type { Store } from './store.js'

/** The store a config names. Redis and Postgres drivers join here when they land. */
export function openStore(config: StoreConfig): Store {
  switch (config.kind) {
    case 'memory':
      return memoryStore({ maxSize: Math.max(config.memory, 64 * 1024 * 1024) })
    case 'sqlite':
      return sqliteStore({ path: config.path })
    default:
      throw new CisternError('E_CONFIG', `store.kind "${config.kind}" is not available in this build yet`)
  }
}
