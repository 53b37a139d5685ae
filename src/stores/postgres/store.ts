import type pg from 'pg'
import type { Entry, EntryInfo, EntryMeta } from '../../model/entry.js'
import { StoreError } from '../../util/errors.js'
import { parseSize, type Size } from '../../util/units.js'
import { AccessNotes } from '../sqlite/access.js'
import { compareKeys, decodeCursor, encodeCursor } from '../sqlite/range.js'
import type {
  InvalidateOptions,
  ListPage,
  ListQuery,
  Selector,
  SetOptions,
  Store,
  StoreHealth,
  StoreStats,
} from '../store.js'
import { PostgresConnection, type PostgresConnectionOptions } from './connection.js'
import { quoteLiteral } from './identifier.js'

export interface PostgresStoreOptions extends PostgresConnectionOptions {
  /** The connection to use (shared with a coordination); when given, url/pool/namespace are ignored. */
  connection?: PostgresConnection
  /** Period of the background sweep of expired entries; 0 turns it off (default 60 s). */
  sweepIntervalMs?: number
  /**
   * Bound on what the store keeps (default 1GB), counted as value bytes plus ROW_OVERHEAD per entry:
   * past 95% of it the least recently used entries are evicted in chunks down to 90%. Indexes and
   * dead row versions awaiting VACUUM take disk space on top.
   */
  maxSize?: Size
  /** Errors from background work (sweep, eviction, recency writes); none throws, the next tick retries. */
  onBackgroundError?: (error: StoreError) => void
}

export interface PostgresStore extends Store {
  readonly name: 'postgres'
  readonly connection: PostgresConnection
  health(): StoreHealth
  /** Resolves once no eviction or recency write is under way (tests, orderly shutdown). */
  idle(): Promise<void>
}

const NAME = 'postgres'
const MAX_PAGE = 1000
/** Rows one statement of bulk work (purge, sweep, eviction) touches: each holds its row locks briefly. */
const CHUNK = 500
/** What a row costs beyond its value (key, metadata, index entries), roughly, for the size bound. */
const ROW_OVERHEAD = 256
const EVICT_ABOVE = 0.95
const EVICT_DOWN_TO = 0.9
/** A read moves an entry's recency only when it is older than this: LRU at minute grain, few writes. */
const RECENCY_GRAIN_MS = 60_000
const FLUSH_EVERY_MS = 5000

const INFO = `key, stored_at, fetched_at, fresh_until, stale_until, expires_at, etag, last_modified,
  digest, tags, size, meta`

/**
 * model/soft-purge.ts softPurge (minStale 0) in SQL; the right-hand sides read the row's old values.
 * `now` is the earlier of the caller's now and the server's (as on Redis): a caller whose clock runs
 * ahead can never leave an entry fresh past the server's now for the other instances. Liveness (which
 * rows are purged at all) stays on the caller's now, what a get at that time would return.
 */
const SOFT = (now: string) => `fresh_until = least(fresh_until, ${now}),
  stale_until = greatest(stale_until, ${now}),
  expires_at = greatest(expires_at, stale_until, ${now})`

interface InfoRow {
  key: string
  stored_at: number
  fetched_at: number
  fresh_until: number
  stale_until: number
  expires_at: number
  etag: string | null
  last_modified: string | null
  digest: string
  tags: string[]
  size: number
  meta: string | null
}

interface EntryRow extends InfoRow {
  value: Buffer
  accessed_at: number
}

/**
 * A store in a Postgres schema (see schema.ts for the tables): the store for teams whose database
 * is Postgres, one cistern instance or several on one database. `{ url }` opens a pool of its own;
 * `{ pool }` uses the caller's and never closes it. The schema is created or brought up to date on
 * first use. Every call has the connection's deadline and breaker (connection.ts).
 *
 * Bulk work never holds one long lock: purges by tag, prefix or many keys, the sweep and eviction go
 * a chunk of rows per statement. Eviction is least recently used by `accessed_at`: a write sets it,
 * and a read moves it forward at most once a minute per entry (collected in memory and written in
 * batches every few seconds), so reads stay reads.
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStoreImpl(options)
}

/** Whether `store` is a Postgres store (whose connection a coordination can share). */
export function isPostgresStore(store: Store): store is PostgresStore {
  return store instanceof PostgresStoreImpl
}

class PostgresStoreImpl implements PostgresStore {
  readonly name = NAME
  readonly connection: PostgresConnection
  readonly #owned: boolean
  readonly #sql: ReturnType<typeof statements>
  readonly #onError: ((error: StoreError) => void) | undefined
  readonly #access = new AccessNotes()
  readonly #maxBytes: number
  #writtenSinceCheck = 0
  #evicting: Promise<void> | undefined
  #flushing: Promise<void> | undefined
  #sweeping = false
  readonly #timers: NodeJS.Timeout[] = []
  #closed = false

  constructor(options: PostgresStoreOptions) {
    this.#owned = options.connection === undefined
    this.connection = options.connection ?? new PostgresConnection(options)
    this.#sql = statements(
      this.connection.table('entries'),
      this.connection.table('counters'),
      this.connection,
    )
    this.#onError = options.onBackgroundError
    this.#maxBytes = parseSize(options.maxSize ?? '1GB', 'postgresStore maxSize')
    const every = (ms: number, work: () => void) => {
      if (ms <= 0) return
      const timer = setInterval(work, ms)
      // Housekeeping must never keep a process alive.
      timer.unref()
      this.#timers.push(timer)
    }
    every(options.sweepIntervalMs ?? 60_000, () => this.#backgroundSweep())
    every(FLUSH_EVERY_MS, () => this.#startFlush())
    // Migrate now, so the first request does not wait for it; a failure is retried by the first call.
    this.connection.migrate().catch(() => {})
  }

  async get(key: string, now = Date.now()): Promise<Entry | undefined> {
    const { rows } = await this.#query<EntryRow>('get', this.#sql.get, [key, now])
    const row = rows[0]
    if (row === undefined) return undefined
    if (now - row.accessed_at > RECENCY_GRAIN_MS) this.#access.note(key, now)
    const entry = toInfo(row) as Entry
    entry.value = row.value
    return entry
  }

  async set(entry: Entry, options: SetOptions = {}): Promise<void> {
    await this.#query('set', this.#sql.set, [
      entry.key,
      options.fence ?? null,
      entry.storedAt,
      entry.fetchedAt,
      entry.freshUntil,
      entry.staleUntil,
      entry.expiresAt,
      entry.etag ?? null,
      entry.lastModified ?? null,
      entry.digest,
      entry.tags,
      entry.size,
      entry.meta === undefined ? null : JSON.stringify(entry.meta),
      Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength),
    ])
    this.#writtenSinceCheck += entry.size + ROW_OVERHEAD
    if (this.#writtenSinceCheck >= this.#maxBytes / 100) this.#checkSize()
  }

  async delete(key: string): Promise<boolean> {
    const { rows } = await this.#query<{ live: boolean }>('delete', this.#sql.deleteKeys, [[key], Date.now()])
    return rows.some((row) => row.live)
  }

  async invalidate(selector: Selector, { soft, now }: InvalidateOptions): Promise<number> {
    if ('prefix' in selector) return this.#invalidateRange(selector.prefix, soft, now)
    let keys: string[]
    let tags: string[] | null = null
    if ('key' in selector) keys = [selector.key]
    else if ('keys' in selector) keys = [...new Set(selector.keys)]
    else {
      // The keys first (the GIN index), then the purge a chunk at a time; each chunk checks the tags
      // again, so an entry rewritten without them meanwhile is left alone.
      tags = 'tag' in selector ? [selector.tag] : [...new Set(selector.tags)]
      const { rows } = await this.#query<{ key: string }>('invalidate', this.#sql.keysWithTags, [tags])
      keys = rows.map((row) => row.key)
    }
    let count = 0
    for (let at = 0; at < keys.length; at += CHUNK) {
      const chunk = keys.slice(at, at + CHUNK)
      if (soft) {
        count += (await this.#query('invalidate', this.#sql.softKeys, [chunk, now, tags])).rowCount ?? 0
      } else {
        const { rows } = await this.#query<{ live: boolean }>('invalidate', this.#sql.deleteTaggedKeys, [
          chunk,
          now,
          tags,
        ])
        count += rows.filter((row) => row.live).length
      }
    }
    return count
  }

  async list(query: ListQuery): Promise<ListPage> {
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(query.limit) || 1))
    const lower = query.prefix ?? ''
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
    // A cursor that sorts below the prefix (taken from some other listing) must not widen the range.
    const resume = after !== undefined && compareKeys(after, lower) >= 0
    const sql = resume ? this.#sql.listAfter : this.#sql.listFrom
    const { rows } = await this.#query<InfoRow>('list', sql, [
      resume ? after : lower,
      prefixEnd(lower),
      Date.now(),
      query.tag ?? null,
      limit + 1,
    ])
    const more = rows.length > limit
    if (more) rows.length = limit
    const items = rows.map(toInfo)
    return more ? { items, cursor: encodeCursor(items[items.length - 1]!.key) } : { items }
  }

  async stats(): Promise<StoreStats> {
    const { rows } = await this.#query<StoreStats>('stats', this.#sql.stats)
    return { entries: rows[0]?.entries ?? 0, bytes: rows[0]?.bytes ?? 0 }
  }

  health(): StoreHealth {
    return this.connection.healthy()
      ? { ok: true }
      : { ok: false, reason: 'postgres server unreachable (calls fail fast until it answers again)' }
  }

  async sweep(now: number, limit: number): Promise<number> {
    let dropped = 0
    while (dropped < limit) {
      const chunk = Math.min(CHUNK, limit - dropped)
      const n = (await this.#query('sweep', this.#sql.sweep, [now, Math.floor(chunk)])).rowCount ?? 0
      dropped += n
      if (n < Math.floor(chunk) || n === 0) break
    }
    return dropped
  }

  async idle(): Promise<void> {
    while (this.#evicting ?? this.#flushing) await (this.#evicting ?? this.#flushing)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    for (const timer of this.#timers) clearInterval(timer)
    // Recency noted since the last flush goes with the close; a failure only costs recency.
    await this.idle().catch(() => {})
    await this.#flushAccess().catch(() => {})
    this.#closed = true
    if (this.#owned) await this.connection.close()
  }

  /** A statement on the connection, refused once this store is closed (the connection may be shared). */
  #query<R extends pg.QueryResultRow>(
    operation: string,
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.#closed) return Promise.reject(new StoreError(NAME, operation, 'store is closed', 'E_CLOSED'))
    return this.connection.query<R>(operation, text, values)
  }

  /** Hard or soft purge of a key range, a chunk of keys per statement, walking the primary key. */
  async #invalidateRange(prefix: string, soft: boolean, now: number): Promise<number> {
    const end = prefixEnd(prefix)
    let count = 0
    let after: string | undefined
    for (;;) {
      if (this.#closed) throw new StoreError(NAME, 'invalidate', 'store is closed', 'E_CLOSED')
      const sql = soft
        ? after === undefined
          ? this.#sql.softRangeFrom
          : this.#sql.softRangeAfter
        : after === undefined
          ? this.#sql.deleteRangeFrom
          : this.#sql.deleteRangeAfter
      const { rows } = await this.#query<{ last: string | null; walked: number; changed: number }>(
        'invalidate',
        sql,
        [after ?? prefix, end, now, CHUNK],
      )
      const row = rows[0]!
      count += row.changed
      if (row.walked < CHUNK || row.last === null) return count
      after = row.last
    }
  }

  /** Past the high-water mark of maxSize, evict least recently used entries in the background (once). */
  #checkSize(): void {
    this.#writtenSinceCheck = 0
    if (this.#evicting || this.#closed) return
    this.#evicting = this.#background('evict', async () => {
      let { entries, bytes } = await this.stats()
      if (bytes + entries * ROW_OVERHEAD <= this.#maxBytes * EVICT_ABOVE) return
      await this.#flushAccess()
      for (let chunks = 0; chunks < 10_000 && !this.#closed && entries > 0; chunks++) {
        const used = bytes + entries * ROW_OVERHEAD
        const excess = used - this.#maxBytes * EVICT_DOWN_TO
        if (excess <= 0) return
        // As many rows as the excess holds at the average row's size, a chunk at most.
        const rows = Math.min(CHUNK, Math.max(1, Math.ceil(excess / (used / entries))))
        if (((await this.#query('evict', this.#sql.evict, [rows])).rowCount ?? 0) === 0) return
        ;({ entries, bytes } = await this.stats())
      }
    }).finally(() => {
      this.#evicting = undefined
    })
  }

  #startFlush(): void {
    if (this.#flushing || this.#closed || this.#access.size === 0) return
    this.#flushing = this.#background('recency', () => this.#flushAccess()).finally(() => {
      this.#flushing = undefined
    })
  }

  async #flushAccess(): Promise<void> {
    while (this.#access.size > 0) {
      const notes = this.#access.take(CHUNK)
      await this.#query('recency', this.#sql.touch, [notes.map(([key]) => key), notes.map(([, at]) => at)])
    }
  }

  /** One chunk per statement until a chunk comes back short. */
  #backgroundSweep(): void {
    if (this.#sweeping || this.#closed || !this.connection.healthy()) return
    this.#sweeping = true
    this.#background('sweep', async () => {
      while (!this.#closed && (await this.sweep(Date.now(), CHUNK)) === CHUNK) {}
    }).finally(() => {
      this.#sweeping = false
    })
  }

  /** Background work: its errors go to onBackgroundError, never to a caller; the next tick tries again. */
  #background(operation: string, work: () => Promise<void>): Promise<void> {
    return work().catch((error: unknown) =>
      this.#onError?.(error instanceof StoreError ? error : new StoreError(NAME, operation, error)),
    )
  }
}

/**
 * The exclusive upper bound of the keys starting with `prefix` in code point order (the order of
 * COLLATE "C" on UTF-8): the prefix with its last code point replaced by the next one, skipping the
 * surrogates, which UTF-8 cannot hold. A last code point of U+10FFFF has no successor: it is dropped
 * and the one before moves instead. Null (no bound) for '' or a prefix of U+10FFFF only. A bound must
 * be valid text here, unlike SQLite's byte bound (stores/sqlite/range.ts): Postgres refuses bad UTF-8.
 */
export function prefixEnd(prefix: string): string | null {
  const points = Array.from(prefix, (char) => char.codePointAt(0)!)
  while (points.length > 0) {
    const last = points.pop()!
    if (last === 0x10ffff) continue
    points.push(last + 1 === 0xd800 ? 0xe000 : last + 1)
    return String.fromCodePoint(...points)
  }
  return null
}

function toInfo(row: InfoRow): EntryInfo {
  const info: EntryInfo = {
    key: row.key,
    storedAt: row.stored_at,
    fetchedAt: row.fetched_at,
    freshUntil: row.fresh_until,
    staleUntil: row.stale_until,
    expiresAt: row.expires_at,
    digest: row.digest,
    tags: row.tags,
    size: row.size,
  }
  // Optional fields are left out rather than set to undefined, so entries round-trip exactly.
  if (row.etag !== null) info.etag = row.etag
  if (row.last_modified !== null) info.lastModified = row.last_modified
  if (row.meta !== null) info.meta = JSON.parse(row.meta) as EntryMeta
  return info
}

/**
 * Every statement the store runs. Comparisons on `key` name COLLATE "C", the column's, so the
 * primary key index serves them and ranges follow code point order. A null upper bound ($2) is
 * "no bound"; a null tag list is "any tags".
 */
function statements(t: string, counters: string, connection: PostgresConnection) {
  const versions = quoteLiteral(connection.table('versions'))
  const softNow = (param: string) => `least(${param}::float8, ${connection.schema}.now_ms())`
  const inRange = (op: '>=' | '>') =>
    `key ${op} $1 COLLATE "C" AND ($2::text IS NULL OR key < $2::text COLLATE "C")`
  const walk = (op: '>=' | '>') => `SELECT key FROM ${t} WHERE ${inRange(op)} ORDER BY key LIMIT $4`
  const softRange = (op: '>=' | '>') => `WITH page AS (${walk(op)}),
    changed AS (UPDATE ${t} e SET ${SOFT(softNow('$3'))} FROM page
      WHERE e.key = page.key AND e.expires_at > $3 RETURNING 1)
    SELECT (SELECT max(key) FROM page) AS last, (SELECT count(*) FROM page)::int AS walked,
      (SELECT count(*) FROM changed)::int AS changed`
  const deleteRange = (op: '>=' | '>') => `WITH page AS (${walk(op)}),
    gone AS (DELETE FROM ${t} e USING page WHERE e.key = page.key RETURNING e.expires_at > $3 AS live)
    SELECT (SELECT max(key) FROM page) AS last, (SELECT count(*) FROM page)::int AS walked,
      (SELECT count(*) FROM gone WHERE live)::int AS changed`
  const list = (op: '>=' | '>') => `SELECT ${INFO} FROM ${t}
    WHERE ${inRange(op)} AND expires_at > $3 AND ($4::text IS NULL OR tags @> ARRAY[$4::text])
    ORDER BY key LIMIT $5`
  return {
    get: `SELECT ${INFO}, value, accessed_at FROM ${t} WHERE key = $1 COLLATE "C" AND expires_at > $2`,
    // A write carrying an older fence than the stored row's is dropped (WHERE on the update). One
    // without a fence always lands, and its version is never below the stored one, so a lease holder
    // whose fence predates it is still refused afterwards.
    set: `INSERT INTO ${t} (key, version, stored_at, fetched_at, fresh_until, stale_until, expires_at,
        accessed_at, etag, last_modified, digest, tags, size, meta, value)
      VALUES ($1, coalesce($2::bigint, nextval(${versions})), $3, $4, $5, $6, $7, $3, $8, $9, $10,
        $11::text[], $12, $13, $14)
      ON CONFLICT (key) DO UPDATE SET
        version = CASE WHEN $2::bigint IS NULL THEN greatest(${t}.version, excluded.version)
          ELSE excluded.version END,
        stored_at = excluded.stored_at,
        fetched_at = excluded.fetched_at, fresh_until = excluded.fresh_until,
        stale_until = excluded.stale_until, expires_at = excluded.expires_at,
        accessed_at = greatest(${t}.accessed_at, excluded.accessed_at), etag = excluded.etag,
        last_modified = excluded.last_modified, digest = excluded.digest, tags = excluded.tags,
        size = excluded.size, meta = excluded.meta, value = excluded.value
      WHERE $2::bigint IS NULL OR ${t}.version <= excluded.version`,
    deleteKeys: `DELETE FROM ${t} WHERE key = ANY($1::text[] COLLATE "C") RETURNING expires_at > $2 AS live`,
    keysWithTags: `SELECT key FROM ${t} WHERE tags && $1::text[]`,
    softKeys: `UPDATE ${t} SET ${SOFT(softNow('$2'))}
      WHERE key = ANY($1::text[] COLLATE "C") AND expires_at > $2
        AND ($3::text[] IS NULL OR tags && $3::text[])`,
    deleteTaggedKeys: `DELETE FROM ${t} WHERE key = ANY($1::text[] COLLATE "C")
        AND ($3::text[] IS NULL OR tags && $3::text[])
      RETURNING expires_at > $2 AS live`,
    softRangeFrom: softRange('>='),
    softRangeAfter: softRange('>'),
    deleteRangeFrom: deleteRange('>='),
    deleteRangeAfter: deleteRange('>'),
    listFrom: list('>='),
    listAfter: list('>'),
    stats: `SELECT coalesce(sum(entries), 0)::bigint AS entries, coalesce(sum(bytes), 0)::bigint AS bytes
      FROM ${counters}`,
    // Oldest expiry first; rows another instance is already deleting are skipped, not waited for.
    sweep: `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE expires_at <= $1
        ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) AND expires_at <= $1`,
    evict: `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} ORDER BY accessed_at LIMIT $1
        FOR UPDATE SKIP LOCKED)`,
    touch: `UPDATE ${t} e SET accessed_at = greatest(e.accessed_at, a.at)
      FROM unnest($1::text[], $2::float8[]) AS a(key, at) WHERE e.key = a.key COLLATE "C"`,
  }
}
