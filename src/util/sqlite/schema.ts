import type Database from 'better-sqlite3'
import { CisternError } from '../errors.js'

/**
 * Versioned schemas for cistern's SQLite files (the cache, the webhook event log, the refresh
 * database), all through this one helper. `application_id` marks a file as one of cistern's databases,
 * so pointing a path at another program's file (or at another of cistern's) is refused instead of
 * quietly adding tables to it; `user_version` counts the migrations that have run.
 */
export interface SqliteSchema {
  /** What the file holds, for errors: 'cache', 'webhook event log', 'refresh database'. */
  readonly name: string
  /** This database's PRAGMA application_id: four ASCII letters as a 32-bit big-endian integer. */
  readonly applicationId: number
  /**
   * Migration n takes the schema from version n-1 to n. Append only: a shipped migration never changes,
   * because databases in the field already ran it.
   */
  readonly migrations: readonly string[]
  /**
   * The tables of files written before this database carried an application id. A file without one
   * whose tables are all among these is adopted (stamped by the next migration) rather than refused
   * as another program's.
   */
  readonly legacyTables?: readonly string[]
}

/** The file cannot be used with this schema; nothing was written to it. */
export class SchemaError extends CisternError {
  constructor(message: string) {
    super('E_STORE_OPEN', message)
    this.name = 'SchemaError'
  }
}

/** 'cstn' → 0x6373746e: the number SQLite stores for a four-letter application id. */
export function applicationIdOf(letters: string): number {
  if (!/^[\x20-\x7e]{4}$/.test(letters))
    throw new RangeError(`application id ${letters} is not four ASCII letters`)
  return Buffer.from(letters, 'latin1').readInt32BE(0)
}

/**
 * Refuses, reading only, a file this schema cannot use: another application's database, one of
 * cistern's other databases, or one written by a newer cistern (its version is past the last
 * migration this code knows). Run it before anything writes (journal mode included), so a refused
 * file is left byte for byte as it was. Reading the header is the first thing that touches the file:
 * garbage fails here with SQLITE_NOTADB.
 */
export function checkSchema(db: Database.Database, schema: SqliteSchema): void {
  const found = readHeader(db)
  if (!adoptable(db, schema, found.applicationId)) {
    throw new SchemaError(
      `${where(db)}is an SQLite database of another application, not cistern's ${schema.name}` +
        ` (application_id ${found.applicationId}, expected ${schema.applicationId})`,
    )
  }
  refuseNewer(db, schema, found.version)
}

/**
 * Brings the file up to the last migration in one IMMEDIATE transaction, which also stamps the
 * application id. Version and id are read again under the write lock: another process may have
 * migrated since checkSchema. A file already up to date is left without a write (the transaction
 * still takes the write lock, which an exclusive-mode connection then keeps).
 */
export function migrateSchema(db: Database.Database, schema: SqliteSchema): void {
  const latest = schema.migrations.length
  db.transaction(() => {
    const { applicationId, version } = readHeader(db)
    refuseNewer(db, schema, version)
    for (let next = version + 1; next <= latest; next++) db.exec(schema.migrations[next - 1]!)
    if (applicationId !== schema.applicationId) db.pragma(`application_id = ${schema.applicationId}`)
    if (version !== latest) db.pragma(`user_version = ${latest}`)
  }).immediate()
}

function readHeader(db: Database.Database): { applicationId: number; version: number } {
  return {
    applicationId: db.pragma('application_id', { simple: true }) as number,
    version: db.pragma('user_version', { simple: true }) as number,
  }
}

/** Ours; or without an id and either empty (new) or holding only the tables of an older cistern. */
function adoptable(db: Database.Database, schema: SqliteSchema, applicationId: number): boolean {
  if (applicationId === schema.applicationId) return true
  if (applicationId !== 0) return false
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
    .pluck()
    .all() as string[]
  const objects = (db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number) ?? 0
  if (objects === 0) return true
  const legacy = new Set(schema.legacyTables ?? [])
  return tables.length > 0 && tables.every((table) => legacy.has(table))
}

function refuseNewer(db: Database.Database, schema: SqliteSchema, version: number): void {
  const latest = schema.migrations.length
  if (version > latest) {
    throw new SchemaError(
      `${where(db)}the ${schema.name} was written by a newer cistern (schema ${version}; this one knows up to ${latest})`,
    )
  }
}

function where(db: Database.Database): string {
  return db.name === ':memory:' || db.name === '' ? '' : `${db.name}: `
}
