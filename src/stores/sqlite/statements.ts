import type Database from 'better-sqlite3'
import { INFO_COLUMNS } from './rows.js'

/**
 * Every statement the store runs, as SQL text (exported so tests can EXPLAIN them) and prepared
 * once per connection. Prefix ranges bind their upper bound as a blob cast to TEXT; see range.ts.
 * Invalidations count only live entries (expires_at > now): an expired entry is already gone as far
 * as any reader can tell, and a store with native expiry (Redis) could not count it either.
 */

const TAGGED_INFO_COLUMNS = INFO_COLUMNS.split(', ')
  .map((column) => `e.${column}`)
  .join(', ')

const IN_RANGE = 'key >= :lower AND key < CAST(:upper AS TEXT)'
const HAS_TAG = 'key IN (SELECT key FROM entry_tags WHERE tag = :tag)'

/** softPurge (with minStale 0) in SQL; the right-hand sides see the row's old values. */
const SOFT_PURGE = `UPDATE entries SET
  fresh_until = min(fresh_until, :now),
  stale_until = max(stale_until, :now),
  expires_at = max(expires_at, stale_until, :now)`

export const SQL = {
  get: `SELECT ${INFO_COLUMNS}, value FROM entries WHERE key = ? AND expires_at > ?`,
  getText: `SELECT ${INFO_COLUMNS}, CAST(value AS TEXT) FROM entries WHERE key = ? AND expires_at > ?`,
  deleteTagsOf: 'DELETE FROM entry_tags WHERE key = ?',
  insertTag: 'INSERT OR IGNORE INTO entry_tags (tag, key) VALUES (?, ?)',
  upsert: `INSERT INTO entries (${INFO_COLUMNS}, value)
    VALUES (:key, :stored_at, :fetched_at, :fresh_until, :stale_until, :expires_at, :etag,
      :last_modified, :digest, :tags, :size, :meta, :value)
    ON CONFLICT (key) DO UPDATE SET
      stored_at = excluded.stored_at, fetched_at = excluded.fetched_at,
      fresh_until = excluded.fresh_until, stale_until = excluded.stale_until,
      expires_at = excluded.expires_at, etag = excluded.etag, last_modified = excluded.last_modified,
      digest = excluded.digest, tags = excluded.tags, size = excluded.size, meta = excluded.meta,
      value = excluded.value`,
  deleteKey: 'DELETE FROM entries WHERE key = ? RETURNING expires_at',

  softKey: `${SOFT_PURGE} WHERE key = :key AND expires_at > :now`,
  softRange: `${SOFT_PURGE} WHERE ${IN_RANGE} AND expires_at > :now`,
  softTag: `${SOFT_PURGE} WHERE ${HAS_TAG} AND expires_at > :now`,
  countRange: `SELECT count(*) AS n FROM entries WHERE ${IN_RANGE} AND expires_at > :now`,
  countTag: `SELECT count(*) AS n FROM entry_tags t CROSS JOIN entries e ON e.key = t.key
    WHERE t.tag = :tag AND e.expires_at > :now`,
  deleteRange: `DELETE FROM entries WHERE ${IN_RANGE}`,
  deleteTag: `DELETE FROM entries WHERE ${HAS_TAG}`,

  // Oldest first through the expires_at index; rowid avoids a second lookup through the key index.
  sweep: `DELETE FROM entries WHERE rowid IN
    (SELECT rowid FROM entries WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  stats: 'SELECT entries, bytes FROM counters WHERE id = 0',

  // Size bound. Pages in use (the file's pages less its free list) count everything on disk: values,
  // keys, tags, indexes. Both numbers sit in the database header, so this costs no scan.
  usedPages: `SELECT (SELECT page_count FROM pragma_page_count())
    - (SELECT freelist_count FROM pragma_freelist_count())`,
  touch: 'UPDATE entry_access SET accessed_at = max(accessed_at, ?) WHERE key = ?',
  evict: `DELETE FROM entries WHERE key IN
    (SELECT key FROM entry_access ORDER BY accessed_at LIMIT ?)`,

  // Bulk invalidations walk their keys a chunk at a time (see invalidateInChunks).
  rangeKeysFirst: `SELECT key FROM entries WHERE key >= :lower AND key < CAST(:upper AS TEXT)
    ORDER BY key LIMIT :limit`,
  rangeKeysAfter: `SELECT key FROM entries WHERE key > :after AND key < CAST(:upper AS TEXT)
    ORDER BY key LIMIT :limit`,
  tagKeysFirst: 'SELECT key FROM entry_tags WHERE tag = :tag ORDER BY key LIMIT :limit',
  tagKeysAfter: 'SELECT key FROM entry_tags WHERE tag = :tag AND key > :after ORDER BY key LIMIT :limit',

  // Pages: the first starts at the prefix (>=), later ones after the cursor (>). CROSS JOIN keeps
  // entry_tags as the outer loop, so a tagged page walks the (tag, key) primary key in key order.
  listFirst: listSql(false, '>='),
  listAfter: listSql(false, '>'),
  listTagFirst: listSql(true, '>='),
  listTagAfter: listSql(true, '>'),
} as const

function listSql(tagged: boolean, op: '>=' | '>'): string {
  if (!tagged) {
    return `SELECT ${INFO_COLUMNS} FROM entries
      WHERE key ${op} :lower AND key < CAST(:upper AS TEXT) AND expires_at > :now
      ORDER BY key LIMIT :limit`
  }
  return `SELECT ${TAGGED_INFO_COLUMNS} FROM entry_tags t CROSS JOIN entries e ON e.key = t.key
    WHERE t.tag = :tag AND t.key ${op} :lower AND t.key < CAST(:upper AS TEXT) AND e.expires_at > :now
    ORDER BY t.key LIMIT :limit`
}

export type Statements = { [K in keyof typeof SQL]: Database.Statement }

/** Statements whose rows are read positionally (rows.ts InfoRow / EntryRow). */
const RAW: ReadonlySet<string> = new Set([
  'get',
  'getText',
  'listFirst',
  'listAfter',
  'listTagFirst',
  'listTagAfter',
])

/** Statements that answer one column, read as plain values. */
const PLUCK: ReadonlySet<string> = new Set([
  'usedPages',
  'rangeKeysFirst',
  'rangeKeysAfter',
  'tagKeysFirst',
  'tagKeysAfter',
])

export function prepareStatements(db: Database.Database): Statements {
  return Object.fromEntries(
    Object.entries(SQL).map(([name, sql]) => {
      const statement = db.prepare(sql)
      if (RAW.has(name)) return [name, statement.raw(true)]
      return [name, PLUCK.has(name) ? statement.pluck(true) : statement]
    }),
  ) as Statements
}
