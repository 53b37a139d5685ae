import type Database from 'better-sqlite3'
import { applicationIdOf, type SqliteSchema } from '../../util/sqlite/schema.js'

/**
 * The cache file's layout and its migrations, applied by the shared SQLite schema helper
 * (util/sqlite/schema.ts): `application_id` 'cstn' marks the file as a cistern cache and
 * `user_version` counts the migrations that have run.
 *
 * `value` is the last column on purpose: SQLite stores a row's columns in order and spills a large
 * blob into overflow pages, so a column after it would drag those pages in. With the blob last,
 * list, invalidate and sweep read metadata without touching a value's bytes.
 *
 * Entry and byte counts live in a one-row `counters` table kept by triggers, so stats() is O(1)
 * and stays exact across processes and crashes (the counter update commits or rolls back with the
 * write). The delete trigger also drops the entry's tag rows, so every path that removes an entry
 * (delete, invalidate, sweep, or a later one) keeps entry_tags consistent without repeating itself.
 *
 * Migration 2 adds recency for size-bounded eviction (least recently used first) in its own small
 * table: updating a column of `entries` would rewrite the whole row, value and overflow pages
 * included. Triggers stamp a write as an access; reads are stamped in batches (see access.ts).
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE entries (
    key TEXT PRIMARY KEY NOT NULL,
    stored_at INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    fresh_until INTEGER NOT NULL,
    stale_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    etag TEXT,
    last_modified TEXT,
    digest TEXT NOT NULL,
    tags TEXT NOT NULL,
    size INTEGER NOT NULL,
    meta TEXT,
    value BLOB NOT NULL
  );
  CREATE INDEX entries_expires_at ON entries (expires_at);

  CREATE TABLE entry_tags (
    tag TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tag, key)
  ) WITHOUT ROWID;
  CREATE INDEX entry_tags_key ON entry_tags (key);

  CREATE TABLE counters (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    entries INTEGER NOT NULL,
    bytes INTEGER NOT NULL
  );
  INSERT INTO counters (id, entries, bytes) VALUES (0, 0, 0);

  CREATE TRIGGER entries_after_insert AFTER INSERT ON entries BEGIN
    UPDATE counters SET entries = entries + 1, bytes = bytes + new.size WHERE id = 0;
  END;
  CREATE TRIGGER entries_after_update_size AFTER UPDATE OF size ON entries BEGIN
    UPDATE counters SET bytes = bytes - old.size + new.size WHERE id = 0;
  END;
  CREATE TRIGGER entries_after_delete AFTER DELETE ON entries BEGIN
    UPDATE counters SET entries = entries - 1, bytes = bytes - old.size WHERE id = 0;
    DELETE FROM entry_tags WHERE key = old.key;
  END;
  `,
  `
  CREATE TABLE entry_access (
    key TEXT PRIMARY KEY NOT NULL,
    accessed_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX entry_access_lru ON entry_access (accessed_at);
  INSERT INTO entry_access (key, accessed_at) SELECT key, stored_at FROM entries;

  CREATE TRIGGER entries_access_insert AFTER INSERT ON entries BEGIN
    INSERT OR REPLACE INTO entry_access (key, accessed_at) VALUES (new.key, new.stored_at);
  END;
  CREATE TRIGGER entries_access_write AFTER UPDATE OF stored_at ON entries BEGIN
    UPDATE entry_access SET accessed_at = max(accessed_at, new.stored_at) WHERE key = new.key;
  END;
  DROP TRIGGER entries_after_delete;
  CREATE TRIGGER entries_after_delete AFTER DELETE ON entries BEGIN
    UPDATE counters SET entries = entries - 1, bytes = bytes - old.size WHERE id = 0;
    DELETE FROM entry_tags WHERE key = old.key;
    DELETE FROM entry_access WHERE key = old.key;
  END;
  `,
]

export const CACHE_SCHEMA: SqliteSchema = {
  name: 'cache',
  applicationId: applicationIdOf('cstn'),
  migrations: MIGRATIONS,
}

export interface PrepareOptions {
  /** Cap on the WAL file size kept after a checkpoint, in bytes. */
  journalSizeLimit: number
}

/**
 * The connection's pragmas, between the schema check (which refuses a file that is not a database,
 * another program's or a newer cistern's, with nothing written to it) and the migrations.
 */
export function prepareDatabase(db: Database.Database, options: PrepareOptions): void {
  // In-memory databases answer 'memory' here; anything on disk must end up in WAL.
  const mode = db.pragma('journal_mode = WAL', { simple: true }) as string
  if (mode !== 'wal' && db.name !== ':memory:' && db.name !== '') {
    throw new Error(`could not switch to WAL journal mode (got ${mode})`)
  }
  // NORMAL in WAL mode: a process crash loses nothing committed; only an OS crash or power loss can
  // drop the last transactions, and never corrupts the file. A cache can afford that.
  db.pragma('synchronous = NORMAL')
  db.pragma(`journal_size_limit = ${Math.floor(options.journalSizeLimit)}`)
  db.pragma('temp_store = MEMORY')
}
