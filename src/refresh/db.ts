import { basename, dirname, extname, join } from 'node:path'
import type Database from 'better-sqlite3'
import type { StoreConfig } from '../config/types.js'
import { isInMemory, isStorageFault, openSqliteFile, quickCheck } from '../util/sqlite/open-file.js'
import { applicationIdOf, type SqliteSchema } from '../util/sqlite/schema.js'

/**
 * The refresh path's own durable state: the schedule (with each key's last seen version), the bounded
 * change-event buffer and the notify outbox. It lives in its own SQLite file beside the cache store,
 * so the store keeps its contract and this state can change shape on its own.
 *
 * Append only: a shipped migration never changes. Migration 1 keeps `IF NOT EXISTS` because files
 * written before the database was versioned (user_version 0, no application id) already hold these
 * tables: they are adopted, and migration 1 runs over them as a no-op.
 */
const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE IF NOT EXISTS schedule (
  key TEXT PRIMARY KEY,
  route TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  last_read_at INTEGER NOT NULL,
  reads INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  digest TEXT,
  fetched_at INTEGER,
  body BLOB,
  headers TEXT
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  route TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL,
  event_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_target ON outbox (target, seq);
`,
  // An adaptive key's learned change rate (change-rate.ts), as JSON.
  'ALTER TABLE schedule ADD COLUMN rate TEXT;',
]

/** 'csrf'. */
export const REFRESH_DB_SCHEMA: SqliteSchema = {
  name: 'refresh database',
  applicationId: applicationIdOf('csrf'),
  migrations: MIGRATIONS,
  legacyTables: ['schedule', 'events', 'outbox'],
}

/** `<dir>/<name>.refresh.db` beside a SQLite store; in memory for every other store kind. */
export function refreshDbPath(store: StoreConfig): string {
  if (store.kind !== 'sqlite' || store.path === ':memory:') return ':memory:'
  const name = basename(store.path, extname(store.path))
  return join(dirname(store.path), `${name}.refresh.db`)
}

export interface RefreshDbOptions {
  /** SQLite max_page_count on the connection: a full disk, simulated (tests). */
  maxPageCount?: number
  /** Told when the file cannot be used (disk full, I/O error, corrupt) and the state is kept in memory. */
  onFault?: (error: Error) => void
}

/**
 * Opens the refresh database. On a full disk or a damaged file the refresh path still runs, on an
 * in-memory database (the schedule, change buffer and outbox then last until the next restart), and
 * onFault says why; the file is left as it was.
 */
export function openRefreshDb(path: string, options: RefreshDbOptions = {}): Database.Database {
  const open = (at: string) =>
    openSqliteFile(at, {
      busyTimeoutMs: 1000,
      ...(options.maxPageCount !== undefined && { maxPageCount: options.maxPageCount }),
      schema: REFRESH_DB_SCHEMA,
      prepare(db) {
        // WAL: readers never block the one writer; NORMAL: a process crash loses nothing committed.
        db.pragma('journal_mode = WAL')
        db.pragma('synchronous = NORMAL')
      },
    })
  if (isInMemory(path)) return open(path)
  try {
    const db = open(path)
    const problem = quickCheck(db)
    if (problem === undefined) return db
    db.close()
    throw Object.assign(new Error(`${path}: ${problem}`), { code: 'SQLITE_CORRUPT' })
  } catch (error) {
    if (!isStorageFault(error)) throw error
    options.onFault?.(error as Error)
    return open(':memory:')
  }
}
