import type Database from 'better-sqlite3'
import type { Entry } from '../../model/entry.js'
import { type ErrorCode, StoreError } from '../../util/errors.js'
import { isInMemory, openSqliteFile, quickCheck } from '../../util/sqlite/open-file.js'
import { parseSize, type Size } from '../../util/units.js'
import type {
  InvalidateOptions,
  ListPage,
  ListQuery,
  Selector,
  Store,
  StoreHealth,
  StoreStats,
  TextEntry,
} from '../store.js'
import { AccessNotes } from './access.js'
import { ChunkSizer, nextTurn } from './chunks.js'
import { invalidateRows, listPage, sweepExpired, writeEntry } from './operations.js'
import { prefixRange } from './range.js'
import { type EntryRow, type TextRow, toEntry, toTextEntry } from './rows.js'
import { CACHE_SCHEMA, prepareDatabase } from './schema.js'
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
  /**
   * Most entries one transaction of bulk work (sweep, eviction, a purge by tag or prefix) touches.
   * Each such chunk is also held to a few milliseconds, whatever its entries cost (see chunks.ts).
   */
  sweepBatch?: number
  /** Called with errors from background work: sweep, eviction, recency writes (none throws; the next tick tries again). */
  onSweepError?: (error: StoreError) => void
  /**
   * Bound on the database file (default 1GB): past 95% of it in pages in use (values, keys, tags and
   * indexes alike), the least recently used entries are evicted in chunks down to 90%. Freed pages are
   * reused, so the file stays under the bound; the WAL beside it adds up to a few MB between checkpoints.
   */
  maxSize?: Size
  /** How often read recency is written for eviction, ms (default 5000). */
  accessFlushMs?: number
  /**
   * SQLite's max_page_count on the connection: a hard page ceiling past which writes fail with
   * SQLITE_FULL, as on a full disk. For tests that need a full disk without one.
   */
  maxPageCount?: number
  /** Run PRAGMA quick_check at open (default true for a file); what it finds is reported by health(). */
  checkOnOpen?: boolean
}

export interface SqliteStore extends Store {
  readonly name: 'sqlite'
  readonly path: string
  getSync(key: string, now?: number): Entry | undefined
  getTextSync(key: string, now?: number): TextEntry | undefined
  health(): StoreHealth
  /** Bytes of the database in use (pages less the free list): what maxSize bounds. */
  usedBytes(): number
  /** Resolves once no eviction, purge or recency write is under way (tests, orderly shutdown). */
  idle(): Promise<void>
}

const NAME = 'sqlite'
const DEFAULTS = {
  busyTimeoutMs: 2000,
  sweepIntervalMs: 60_000,
  sweepBatch: 500,
  maxSize: '1GB',
  accessFlushMs: 5000,
}
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
/** Eviction starts past this share of maxSize and stops at the second: room for bursts between chunks. */
const EVICT_ABOVE = 0.95
const EVICT_DOWN_TO = 0.9
/** What a row costs beyond its value and key (metadata, index entries), roughly, for pacing size checks. */
const ROW_OVERHEAD = 256

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
  private readonly onSweepError: ((error: StoreError) => void) | undefined
  /** One sizer for all bulk work: what a row costs to delete or touch is a property of this file. */
  private readonly chunks: ChunkSizer
  private readonly access = new AccessNotes()
  private readonly pageSize: number
  private readonly evictAbovePages: number
  private readonly evictDownToPages: number
  private readonly maxPages: number
  private readonly checkEveryBytes: number
  private writtenSinceCheck = 0
  private writesSinceCheck = 0
  private readonly problem: string | undefined
  /** Background work under way (eviction, recency flush), so it never runs twice at once. */
  private evicting: Promise<void> | undefined
  private flushing: Promise<void> | undefined
  private flushTimer: NodeJS.Timeout | undefined
  // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes can
  // fail with SQLITE_BUSY at the upgrade, where busy_timeout does not help.
  private readonly setTx: Database.Transaction<(entry: Entry) => void>
  private readonly invalidateTx: Database.Transaction<
    (selector: Exclude<Selector, { tags: readonly string[] }>, options: InvalidateOptions) => number
  >
  private readonly accessTx: Database.Transaction<(notes: [string, number][]) => void>
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(options: SqliteStoreOptions) {
    this.path = options.path
    this.chunks = new ChunkSizer(options.sweepBatch ?? DEFAULTS.sweepBatch)
    this.onSweepError = options.onSweepError
    const maxBytes = parseSize(options.maxSize ?? DEFAULTS.maxSize, 'sqliteStore maxSize')
    this.db = openDatabase(options)
    this.stmts = prepareStatements(this.db)
    this.pageSize = this.db.pragma('page_size', { simple: true }) as number
    this.maxPages = Math.floor(maxBytes / this.pageSize)
    this.evictAbovePages = Math.floor((maxBytes * EVICT_ABOVE) / this.pageSize)
    this.evictDownToPages = Math.floor((maxBytes * EVICT_DOWN_TO) / this.pageSize)
    this.checkEveryBytes = maxBytes / 100
    // A damaged page is found here, at start, rather than by the first unlucky read.
    this.problem = options.checkOnOpen !== false && !isInMemory(this.path) ? quickCheck(this.db) : undefined
    // The entry row and its tag rows change in one transaction, so neither a reader nor a crash
    // ever sees new tags on an old value or the reverse.
    this.setTx = this.db.transaction((entry: Entry) => writeEntry(this.stmts, entry))
    this.invalidateTx = this.db.transaction(
      (selector: Exclude<Selector, { tags: readonly string[] }>, options: InvalidateOptions) =>
        invalidateRows(this.stmts, selector, options),
    )
    this.accessTx = this.db.transaction((notes: [string, number][]) => {
      for (const [key, at] of notes) this.stmts.touch.run(at, key)
    })
    const interval = options.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs
    if (interval > 0) {
      this.timer = setInterval(() => this.backgroundSweep(), interval)
      // A cache's housekeeping must never keep a process alive.
      this.timer.unref()
    }
    const flushEvery = options.accessFlushMs ?? DEFAULTS.accessFlushMs
    if (flushEvery > 0) {
      this.flushTimer = setInterval(() => this.startFlush(), flushEvery)
      this.flushTimer.unref()
    }
    // A file above a lowered maxSize shrinks back from the start.
    this.afterWrite()
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
    if (row === undefined) return undefined
    this.access.note(key, now)
    return toEntry(row)
  }

  getTextSync(key: string, now = Date.now()): TextEntry | undefined {
    const row = this.read<TextRow>(this.stmts.getText, key, now)
    if (row === undefined) return undefined
    this.access.note(key, now)
    return toTextEntry(row)
  }

  set(entry: Entry): Promise<void> {
    const done = this.run('set', () => this.setTx.immediate(entry))
    // Reading the page counts costs ~6 µs: look after every 1% of maxSize written, not every write.
    this.writtenSinceCheck += entry.size + entry.key.length + ROW_OVERHEAD
    this.writesSinceCheck++
    if (this.writtenSinceCheck >= this.checkEveryBytes) this.afterWrite()
    return done
  }

  delete(key: string): Promise<boolean> {
    return this.run('delete', () => {
      const row = this.stmts.deleteKey.get(key) as { expires_at: number } | undefined
      return row !== undefined && row.expires_at > Date.now()
    })
  }

  invalidate(selector: Selector, options: InvalidateOptions): Promise<number> {
    if ('key' in selector) return this.run('invalidate', () => this.invalidateTx.immediate(selector, options))
    return this.invalidateInChunks(selector, options)
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

  health(): StoreHealth {
    return this.problem === undefined ? { ok: true } : { ok: false, reason: this.problem }
  }

  usedBytes(): number {
    if (this.closed) throw closedError('usedBytes')
    return (this.stmts.usedPages.get() as number) * this.pageSize
  }

  async idle(): Promise<void> {
    while (this.evicting ?? this.flushing) await (this.evicting ?? this.flushing)
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    // Recency noted since the last flush goes with the close; a failure here only costs recency.
    try {
      while (this.access.size > 0) this.accessTx.immediate(this.access.take(1000))
    } catch {}
    this.closed = true
    clearInterval(this.timer)
    clearInterval(this.flushTimer)
    this.timer = undefined
    this.flushTimer = undefined
    this.access.clear()
    try {
      this.db.close()
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(storeError('close', error))
    }
  }

  /**
   * Purges by tag(s), prefix or a list of keys, a chunk of keys per transaction with a turn of the
   * event loop between chunks (a 30,000-entry purge in one transaction held the loop for 145 ms).
   * Entries written while it runs may or may not be purged; a reader sees each entry whole, old or gone.
   */
  private async invalidateInChunks(
    selector: Exclude<Selector, { key: string }>,
    options: InvalidateOptions,
  ): Promise<number> {
    const listed =
      'keys' in selector
        ? [...new Set(selector.keys)]
        : 'tags' in selector
          ? this.keysWithTags(selector.tags)
          : undefined
    const walk = 'keys' in selector || 'tags' in selector ? undefined : selector
    let count = 0
    let offset = 0
    let after: string | undefined
    for (;;) {
      if (this.closed) throw closedError('invalidate')
      let chunk: string[] = []
      try {
        this.chunks.run((limit) => {
          chunk = walk ? this.keysOf(walk, after, limit) : listed!.slice(offset, offset + limit)
          count += this.invalidateTx.immediate({ keys: chunk }, options)
          return { rows: chunk.length }
        })
      } catch (error) {
        throw storeError('invalidate', error)
      }
      offset += chunk.length
      if (chunk.length === 0 || (listed && offset >= listed.length)) return count
      after = chunk[chunk.length - 1]
      await nextTurn()
    }
  }

  /**
   * Every key holding any of `tags`, each once (an entry with two of them is purged and counted once).
   * Only the index is read; the purge itself then runs in chunks like a list of keys.
   */
  private keysWithTags(tags: readonly string[]): string[] {
    const keys = new Set<string>()
    for (const tag of new Set(tags)) {
      let after: string | undefined
      for (;;) {
        const chunk = this.keysOf({ tag }, after, 1000)
        for (const key of chunk) keys.add(key)
        if (chunk.length < 1000) break
        after = chunk[chunk.length - 1]
      }
    }
    return [...keys]
  }

  /** The next `limit` keys a tag or prefix selects, in key order, after `after`. */
  private keysOf(
    selector: Extract<Selector, { tag: string } | { prefix: string }>,
    after: string | undefined,
    limit: number,
  ): string[] {
    const s = this.stmts
    if ('tag' in selector) {
      const { tag } = selector
      const rows =
        after === undefined ? s.tagKeysFirst.all({ tag, limit }) : s.tagKeysAfter.all({ tag, after, limit })
      return rows as string[]
    }
    const { lower, upper } = prefixRange(selector.prefix)
    const rows =
      after === undefined
        ? s.rangeKeysFirst.all({ lower, upper, limit })
        : s.rangeKeysAfter.all({ after, upper, limit })
    return rows as string[]
  }

  /**
   * After a write: past the high-water mark, start evicting in the background (once). Still past it
   * while that runs, writes are outrunning the background chunks (a flood, or a caller writing in a
   * loop that never yields): this write then pays for one chunk of eviction itself, so the file does
   * not grow past maxSize.
   */
  private afterWrite(): void {
    const writes = this.writesSinceCheck
    this.writtenSinceCheck = 0
    this.writesSinceCheck = 0
    if (this.closed) return
    let used: number
    try {
      used = this.stmts.usedPages.get() as number
      if (used <= this.evictAbovePages) return
      // At least twice the rows written since the last look, whatever the sizer says: on a loaded
      // machine it shrinks chunks to a few rows, and the bound must hold anyway.
      if (this.evicting || used > this.maxPages) this.evictChunk(2 * writes)
    } catch (error) {
      this.onSweepError?.(storeError('evict', error))
      return
    }
    if (this.evicting) return
    this.evicting = this.background('evict', () => this.evict()).finally(() => {
      this.evicting = undefined
    })
  }

  private startFlush(): void {
    if (this.flushing || this.closed) return
    this.flushing = this.background('access', () => this.flushAccess()).finally(() => {
      this.flushing = undefined
    })
  }

  /**
   * Least recently used entries go, a chunk per turn, until the pages in use are back under the
   * low-water mark. Recency noted by reads is written first, so a hot entry is not taken for cold.
   */
  private async evict(): Promise<void> {
    await this.flushAccess()
    for (;;) {
      if (this.closed) return
      const used = this.stmts.usedPages.get() as number
      if (used <= this.evictDownToPages) return
      // No more rows than the share of the file above the mark: chunk sizes grow with their speed, and
      // an unbounded one overshoots down to an empty store.
      const { entries } = this.stmts.stats.get() as StoreStats
      const share = Math.ceil(((used - this.evictDownToPages) / used) * entries)
      // Nothing left to evict: what remains is the schema itself.
      if (this.evictChunk(0, Math.max(1, share)) === 0) return
      await nextTurn()
    }
  }

  private evictChunk(atLeast: number, atMost = Number.POSITIVE_INFINITY): number {
    const evict = (limit: number) => ({
      rows: this.stmts.evict.run(Math.min(Math.max(limit, atLeast), atMost)).changes,
    })
    return this.chunks.run(evict).rows
  }

  private async flushAccess(): Promise<void> {
    while (!this.closed && this.access.size > 0) {
      this.chunks.run((limit) => {
        const notes = this.access.take(limit)
        this.accessTx.immediate(notes)
        return { rows: notes.length }
      })
      await nextTurn()
    }
  }

  /** Background work: its errors go to onSweepError, never to a caller; the next tick tries again. */
  private background(operation: string, work: () => Promise<void>): Promise<void> {
    return work().catch((error: unknown) => this.onSweepError?.(storeError(operation, error)))
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
      let full = false
      this.chunks.run((limit) => {
        const rows = sweepExpired(this.stmts, Date.now(), limit)
        full = rows === limit
        return { rows }
      })
      if (full) setImmediate(() => this.backgroundSweep()).unref()
    } catch (error) {
      this.onSweepError?.(storeError('sweep', error))
    }
  }
}

function openDatabase(options: SqliteStoreOptions): Database.Database {
  const { path } = options
  try {
    return openSqliteFile(path, {
      busyTimeoutMs: options.busyTimeoutMs ?? DEFAULTS.busyTimeoutMs,
      ...(options.maxPageCount !== undefined && { maxPageCount: options.maxPageCount }),
      // Before the first read: only then does SQLite keep the WAL index in heap memory. The migration's
      // write transaction (migrateSchema) takes the lock, which is then held until close.
      beforeRead: (db) => {
        if (options.exclusive ?? true) db.pragma('locking_mode = EXCLUSIVE')
      },
      schema: CACHE_SCHEMA,
      prepare: (db) => prepareDatabase(db, { journalSizeLimit: JOURNAL_SIZE_LIMIT }),
    })
  } catch (error) {
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
