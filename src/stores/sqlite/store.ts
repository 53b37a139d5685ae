import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type { Entry } from '../../engine/entry.js'
import { type ErrorCode, StoreError } from '../../util/errors.js'
import type {
  InvalidateOptions,
  ListPage,
  ListQuery,
  Selector,
  Store,
  StoreStats,
  TextEntry,
} from '../store.js'
import { invalidateRows, listPage, sweepExpired, writeEntry } from './operations.js'
import { type EntryRow, type TextRow, toEntry, toTextEntry } from './rows.js'
import { prepareDatabase } from './schema.js'
import { prepareStatements, type Statements } from './statements.js'

export interface SqliteStoreOptions {
  /** Database file; parent directories are created. ':memory:' gives a private in-memory store. */
  path: string
  /**
   * How long a write waits for another connection's write lock. better-sqlite3 waits synchronously,
   * blocking the event loop, so this stays short; a timeout surfaces as E_STORE_TIMEOUT.
   */
  busyTimeoutMs?: number
  /**
   * Keep the file to this connection (default true): SQLite's EXCLUSIVE locking mode, which skips
   * two lock calls and a stat per read (about 1.2 µs, a tenth of a 1 KB hit) and keeps the WAL index
   * in process memory. Another process or connection opening the file then fails with E_STORE_OPEN
   * ("in use"). That is also what a gateway wants: two processes sharing one file would each keep a
   * memory tier the other's invalidations never reach. Set false to share the file (several
   * connections, or reading it with the sqlite3 shell while cistern runs).
   */
  exclusive?: boolean
  /** Period of the background sweep of expired entries; 0 turns it off. */
  sweepIntervalMs?: number
  /** Most entries one sweep transaction deletes, which bounds how long it holds the write lock. */
  sweepBatch?: number
  /** Called with errors from the background sweep (it never throws; the next tick tries again). */
  onSweepError?: (error: StoreError) => void
}

export interface SqliteStore extends Store {
  readonly name: 'sqlite'
  readonly path: string
  getSync(key: string, now?: number): Entry | undefined
  getTextSync(key: string, now?: number): TextEntry | undefined
}

const NAME = 'sqlite'
const DEFAULTS = { busyTimeoutMs: 2000, sweepIntervalMs: 60_000, sweepBatch: 500 }
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

/**
 * Opens (creating if needed) an SQLite-backed store. Opening is synchronous so the store can be
 * passed straight to createCache; a path that cannot hold a cistern database throws a StoreError
 * with code E_STORE_OPEN, and the file at that path is left exactly as it was.
 */
export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStoreImpl(options)
}

class SqliteStoreImpl implements SqliteStore {
  readonly name = NAME
  readonly path: string
  private readonly db: Database.Database
  private readonly stmts: Statements
  private readonly sweepBatch: number
  private readonly onSweepError: ((error: StoreError) => void) | undefined
  // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes can
  // fail with SQLITE_BUSY at the upgrade, where busy_timeout does not help.
  private readonly setTx: Database.Transaction<(entry: Entry) => void>
  private readonly invalidateTx: Database.Transaction<
    (selector: Selector, options: InvalidateOptions) => number
  >
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(options: SqliteStoreOptions) {
    this.path = options.path
    this.sweepBatch = Math.max(1, options.sweepBatch ?? DEFAULTS.sweepBatch)
    this.onSweepError = options.onSweepError
    this.db = openDatabase(
      options.path,
      options.busyTimeoutMs ?? DEFAULTS.busyTimeoutMs,
      options.exclusive ?? true,
    )
    this.stmts = prepareStatements(this.db)
    // The entry row and its tag rows change in one transaction, so neither a reader nor a crash
    // ever sees new tags on an old value or the reverse.
    this.setTx = this.db.transaction((entry: Entry) => writeEntry(this.stmts, entry))
    this.invalidateTx = this.db.transaction((selector: Selector, options: InvalidateOptions) =>
      invalidateRows(this.stmts, selector, options),
    )
    const interval = options.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs
    if (interval > 0) {
      this.timer = setInterval(() => this.backgroundSweep(), interval)
      // A cache's housekeeping must never keep a process alive.
      this.timer.unref()
    }
  }

  get(key: string, now = Date.now()): Promise<Entry | undefined> {
    try {
      return Promise.resolve(this.getSync(key, now))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  getSync(key: string, now = Date.now()): Entry | undefined {
    const row = this.read<EntryRow>(this.stmts.get, key, now)
    return row === undefined ? undefined : toEntry(row)
  }

  getTextSync(key: string, now = Date.now()): TextEntry | undefined {
    const row = this.read<TextRow>(this.stmts.getText, key, now)
    return row === undefined ? undefined : toTextEntry(row)
  }

  set(entry: Entry): Promise<void> {
    return this.run('set', () => this.setTx.immediate(entry))
  }

  delete(key: string): Promise<boolean> {
    return this.run('delete', () => {
      const row = this.stmts.deleteKey.get(key) as { expires_at: number } | undefined
      return row !== undefined && row.expires_at > Date.now()
    })
  }

  invalidate(selector: Selector, options: InvalidateOptions): Promise<number> {
    return this.run('invalidate', () => this.invalidateTx.immediate(selector, options))
  }

  list(query: ListQuery): Promise<ListPage> {
    return this.run('list', () => listPage(this.stmts, query, Date.now()))
  }

  stats(): Promise<StoreStats> {
    return this.run('stats', () => this.stmts.stats.get() as StoreStats)
  }

  sweep(now: number, limit: number): Promise<number> {
    return this.run('sweep', () => sweepExpired(this.stmts, now, limit))
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    clearInterval(this.timer)
    this.timer = undefined
    try {
      this.db.close()
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(storeError('close', error))
    }
  }

  private read<R>(statement: Database.Statement, key: string, now: number): R | undefined {
    if (this.closed) throw closedError('get')
    try {
      return statement.get(key, now) as R | undefined
    } catch (error) {
      throw storeError('get', error)
    }
  }

  /** Runs a synchronous body as a store call: closed check, errors mapped, never a sync throw. */
  private run<T>(operation: string, body: () => T): Promise<T> {
    if (this.closed) return Promise.reject(closedError(operation))
    try {
      return Promise.resolve(body())
    } catch (error) {
      return Promise.reject(storeError(operation, error))
    }
  }

  /** One bounded batch per turn of the event loop until a batch comes back short. */
  private backgroundSweep(): void {
    if (this.closed) return
    try {
      if (sweepExpired(this.stmts, Date.now(), this.sweepBatch) < this.sweepBatch) return
      setImmediate(() => this.backgroundSweep()).unref()
    } catch (error) {
      this.onSweepError?.(storeError('sweep', error))
    }
  }
}

function openDatabase(path: string, busyTimeoutMs: number, exclusive: boolean): Database.Database {
  let db: Database.Database | undefined
  try {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(resolve(path)), { recursive: true })
    db = new Database(path, { timeout: busyTimeoutMs })
    // Before the first read: only then does SQLite keep the WAL index in heap memory. The migration's
    // write transaction in prepareDatabase takes the lock, which is then held until close.
    if (exclusive) db.pragma('locking_mode = EXCLUSIVE')
    prepareDatabase(db, { journalSizeLimit: JOURNAL_SIZE_LIMIT })
    return db
  } catch (error) {
    // Closing only releases the handle; nothing at the path is written, truncated or removed.
    try {
      db?.close()
    } catch {}
    const reason = isBusy(error)
      ? 'the file is in use by another process or connection (an SQLite store keeps its file to itself unless every opener passes exclusive: false)'
      : error
    throw new StoreError(NAME, `open ${JSON.stringify(path)}`, reason, 'E_STORE_OPEN')
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY')
}

function closedError(operation: string): StoreError {
  return new StoreError(NAME, operation, 'store is closed', 'E_CLOSED')
}

function storeError(operation: string, error: unknown): StoreError {
  // SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, ...) mean busy_timeout ran out.
  const code: ErrorCode = isBusy(error) ? 'E_STORE_TIMEOUT' : 'E_STORE'
  return new StoreError(NAME, operation, error, code)
}
