import type { CisternConfig } from '../../config/types.js'
import { isStorageFault } from '../../util/sqlite/open-file.js'
import type { EventStore, EventStoreLimits } from './event-store.js'
import { MemoryEventStore } from './memory-events.js'
import { SqliteEventStore } from './sqlite-events.js'
import { eventLogPath } from './sqlite-schema.js'

export type { EventStore, EventStoreLimits, NewEvent } from './event-store.js'
export { MemoryEventStore } from './memory-events.js'
export { SqliteEventStore } from './sqlite-events.js'
export { eventLogPath } from './sqlite-schema.js'

const WEEK = 7 * 24 * 3600_000

/**
 * Retention and caps from the config. A webhook's events are kept for its `retention`, or its
 * `replayWindow` when that is longer (replay protection reads the log). The caps bound the log
 * whatever the traffic: SQLite 100,000 verified events / 512 MB of bodies / 10,000 refusals;
 * memory 10,000 / 16 MB / 1,000.
 */
export function limitsFor(config: CisternConfig, kind: EventStore['kind']): EventStoreLimits {
  const keep = new Map(
    config.webhooks.map((hook) => [hook.name, Math.max(hook.retention, hook.replayWindow)]),
  )
  return kind === 'sqlite'
    ? { keep, defaultKeep: WEEK, maxEvents: 100_000, maxRejected: 10_000, maxBytes: 512 * 1024 * 1024 }
    : { keep, defaultKeep: WEEK, maxEvents: 10_000, maxRejected: 1_000, maxBytes: 16 * 1024 * 1024 }
}

export interface OpenEventStoreOptions {
  /** Caps and retention beyond the config's (tests). */
  limits?: Partial<EventStoreLimits>
  /** SQLite max_page_count on the log's connection: a full disk, simulated (tests). */
  maxPageCount?: number
  /** Told when the SQLite log cannot be used (disk full, I/O error, corrupt) and events stay in memory. */
  onFault?: (error: Error) => void
}

/**
 * The event log for the configured store: a SQLite file next to a SQLite store's database, else
 * memory (a memory store, `:memory:`, or a store kind without a shared event table yet). A log file
 * on a full disk or damaged is not a reason to stop: events are then kept in memory (verified and
 * acted on as ever, but not across a restart) and onFault says why; the file is left as it was.
 */
export function openEventStore(config: CisternConfig, options: OpenEventStoreOptions = {}): EventStore {
  const { store } = config
  if (store.kind === 'sqlite' && store.path !== ':memory:') {
    const path = eventLogPath(store.path)
    try {
      return new SqliteEventStore(
        path,
        { ...limitsFor(config, 'sqlite'), ...options.limits },
        {
          ...(options.maxPageCount !== undefined && { maxPageCount: options.maxPageCount }),
        },
      )
    } catch (error) {
      if (!isStorageFault(error)) throw error
      options.onFault?.(error as Error)
    }
  }
  return new MemoryEventStore({ ...limitsFor(config, 'memory'), ...options.limits })
}
