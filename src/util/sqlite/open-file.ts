import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { checkSchema, migrateSchema, type SqliteSchema } from './schema.js'

/**
 * The one way cistern opens an SQLite file: the cache store, the webhook event log and the refresh
 * database all come through here, so they agree on what a broken disk looks like and how a schema is
 * checked and migrated (schema.ts). Each caller decides how to degrade (a store that reports itself
 * unhealthy, an event log or schedule kept in memory); none of them crashes the process on a full disk
 * or a damaged file. It lives under util/ rather than beside the SQLite store so that the webhook and
 * refresh databases use it without importing a store driver.
 */

export interface SqliteFileOptions {
  /** How long a write waits for another connection's write lock (better-sqlite3 waits synchronously). */
  busyTimeoutMs: number
  /**
   * SQLite's max_page_count on this connection: a hard ceiling on the file's pages, past which every
   * write that needs a new page fails with SQLITE_FULL exactly as on a full disk. Tests use it to
   * simulate one portably; it cannot go below the file's current size.
   */
  maxPageCount?: number
  /** Runs first on the new handle, before anything reads the file (e.g. locking_mode). */
  beforeRead?: (db: Database.Database) => void
  /**
   * The file's application id, version and migrations: checked (reading only) before `prepare`, and
   * migrated after it. A file it refuses throws a SchemaError (E_STORE_OPEN) and is left as it was.
   */
  schema: SqliteSchema
  /** Connection pragmas (journal mode, synchronous, ...); whatever it throws closes the handle and propagates. */
  prepare: (db: Database.Database) => void
}

export function isInMemory(path: string): boolean {
  return path === ':memory:' || path === ''
}

/** Opens (creating parent directories) and prepares a database; on failure nothing is left open. */
export function openSqliteFile(path: string, options: SqliteFileOptions): Database.Database {
  let db: Database.Database | undefined
  try {
    if (!isInMemory(path)) mkdirSync(dirname(resolve(path)), { recursive: true })
    db = new Database(path, { timeout: options.busyTimeoutMs })
    options.beforeRead?.(db)
    if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.floor(options.maxPageCount)}`)
    checkSchema(db, options.schema)
    options.prepare(db)
    migrateSchema(db, options.schema)
    return db
  } catch (error) {
    // Closing only releases the handle; nothing at the path is written, truncated or removed.
    try {
      db?.close()
    } catch {}
    throw error
  }
}

/**
 * What `PRAGMA quick_check` finds wrong, or undefined when the file is sound. It reads every page
 * (about a second per GB on an SSD) but skips the index-versus-table cross checks of integrity_check;
 * the first few problems are enough for a reason.
 */
export function quickCheck(db: Database.Database): string | undefined {
  try {
    const rows = db.prepare('PRAGMA quick_check(5)').pluck().all() as string[]
    if (rows.length === 1 && rows[0] === 'ok') return undefined
    return `PRAGMA quick_check: ${rows.join('; ')}`
  } catch (error) {
    return `PRAGMA quick_check failed: ${error instanceof Error ? error.message : String(error)}`
  }
}

/**
 * SQLite result codes that blame the disk or the file rather than the caller: full, I/O error,
 * corrupt, not a database, read-only file system, no space for the lock/journal. A running cistern
 * degrades on these instead of stopping.
 */
const STORAGE_FAULTS = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_READONLY']

export function isStorageFault(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && STORAGE_FAULTS.some((fault) => code.startsWith(fault))) return true
  }
  return false
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
