import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openRefreshDb, REFRESH_DB_SCHEMA } from '../../src/refresh/db.js'
import { CACHE_SCHEMA } from '../../src/stores/sqlite/schema.js'
import { sqliteStore } from '../../src/stores/sqlite/store.js'
import type { CisternError } from '../../src/util/errors.js'
import { openSqliteFile } from '../../src/util/sqlite/open-file.js'
import { applicationIdOf, SchemaError, type SqliteSchema } from '../../src/util/sqlite/schema.js'
import { EVENT_LOG_SCHEMA, openEventDatabase } from '../../src/webhooks/store/sqlite-schema.js'

/** Files written by cistern before the schema helper (commit 9a8c53f): see the fixture's README. */
const LEGACY = join(import.meta.dirname, '../fixtures/sqlite-legacy')

const NOTES_V1: SqliteSchema = {
  name: 'notes database',
  applicationId: applicationIdOf('tnot'),
  migrations: ['CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)'],
}
const NOTES_V2: SqliteSchema = {
  ...NOTES_V1,
  migrations: [...NOTES_V1.migrations, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'],
}

function open(path: string, schema: SqliteSchema): Database.Database {
  return openSqliteFile(path, {
    busyTimeoutMs: 100,
    schema,
    prepare: (db) => db.pragma('journal_mode = WAL'),
  })
}

function header(path: string): { applicationId: number; version: number } {
  const db = new Database(path, { readonly: true })
  try {
    return {
      applicationId: db.pragma('application_id', { simple: true }) as number,
      version: db.pragma('user_version', { simple: true }) as number,
    }
  } finally {
    db.close()
  }
}

function refusal(run: () => unknown): SchemaError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(SchemaError)
    expect((error as CisternError).code).toBe('E_STORE_OPEN')
    return error as SchemaError
  }
  throw new Error('the file was accepted')
}

describe('SQLite schema helper', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cistern-schema-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('gives each database its own four-letter application id', () => {
    expect(applicationIdOf('cstn')).toBe(0x6373746e)
    const ids = [CACHE_SCHEMA, EVENT_LOG_SCHEMA, REFRESH_DB_SCHEMA].map((schema) => schema.applicationId)
    expect(new Set(ids).size).toBe(3)
    expect(() => applicationIdOf('toolong')).toThrow(RangeError)
  })

  it('creates a fresh file at the last version, stamped with the application id', () => {
    const path = join(dir, 'fresh.db')
    open(path, NOTES_V2).close()
    expect(header(path)).toEqual({ applicationId: NOTES_V1.applicationId, version: 2 })
  })

  it('runs only the pending migrations, keeping the data; an up-to-date file is not written', async () => {
    const path = join(dir, 'grow.db')
    const v1 = open(path, NOTES_V1)
    v1.prepare("INSERT INTO notes (text) VALUES ('kept')").run()
    v1.close()
    expect(header(path).version).toBe(1)
    const v2 = open(path, NOTES_V2)
    expect(v2.prepare('SELECT text, pinned FROM notes').all()).toEqual([{ text: 'kept', pinned: 0 }])
    v2.close()
    expect(header(path)).toEqual({ applicationId: NOTES_V1.applicationId, version: 2 })
    const before = await readFile(path)
    open(path, NOTES_V2).close()
    expect((await readFile(path)).equals(before)).toBe(true)
  })

  it('rolls a failing migration back whole: the version and the tables stay as they were', () => {
    const path = join(dir, 'broken.db')
    open(path, NOTES_V1).close()
    const broken = {
      ...NOTES_V1,
      migrations: [...NOTES_V1.migrations, 'CREATE TABLE tags (name TEXT); CREATE TABLE oops ('],
    }
    expect(() => open(path, broken)).toThrow(/syntax error|incomplete input/)
    expect(header(path).version).toBe(1)
    const db = new Database(path, { readonly: true })
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'tags'").get()).toBeUndefined()
    db.close()
  })

  it('refuses a file from a newer cistern with E_STORE_OPEN, leaving it as it was', async () => {
    const path = join(dir, 'newer.db')
    open(path, NOTES_V2).close()
    const before = await readFile(path)
    const error = refusal(() => open(path, NOTES_V1))
    expect(error.message).toBe(
      `${path}: the notes database was written by a newer cistern (schema 2; this one knows up to 1)`,
    )
    expect((await readFile(path)).equals(before)).toBe(true)
  })

  it('refuses a file with another application id, and an id-less file of another program', async () => {
    const path = join(dir, 'other-id.db')
    open(path, NOTES_V1).close()
    const before = await readFile(path)
    expect(refusal(() => openRefreshDb(path)).message).toMatch(
      /another application, not cistern's refresh database/,
    )
    expect((await readFile(path)).equals(before)).toBe(true)

    const foreign = join(dir, 'foreign.db')
    const other = new Database(foreign)
    other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY); CREATE TABLE schedule (key TEXT)')
    other.close()
    const foreignBefore = await readFile(foreign)
    refusal(() => openRefreshDb(foreign))
    refusal(() => openEventDatabase(foreign))
    expect((await readFile(foreign)).equals(foreignBefore)).toBe(true)
  })

  describe('adopts the files cistern wrote before the helper', () => {
    async function legacy(name: string): Promise<string> {
      const path = join(dir, `legacy-${name}`)
      await copyFile(join(LEGACY, name), path)
      return path
    }

    it('the refresh database (no version, no id): stamped, its schedule and events kept', async () => {
      const path = await legacy('refresh.db')
      expect(header(path)).toEqual({ applicationId: 0, version: 0 })
      const db = openRefreshDb(path, { onFault: (error) => expect.fail(error.message) })
      expect(db.prepare('SELECT key, reads FROM schedule').all()).toEqual([
        { key: '/ftc/2025/teams/1', reads: 3 },
      ])
      expect(db.prepare('SELECT id FROM events').pluck().all()).toEqual(['evt_1'])
      db.close()
      expect(header(path)).toEqual({
        applicationId: REFRESH_DB_SCHEMA.applicationId,
        version: REFRESH_DB_SCHEMA.migrations.length,
      })
    })

    it('the webhook event log (version 1, no id): stamped, migrated to the latest, its events kept', async () => {
      const path = await legacy('webhooks.db')
      expect(header(path)).toEqual({ applicationId: 0, version: 1 })
      const db = openEventDatabase(path)
      expect(db.prepare('SELECT webhook, outcome FROM webhook_events').all()).toEqual([
        { webhook: 'tba', outcome: 'acted' },
      ])
      db.close()
      // Adopted as version 1, then brought up to date (version 2 records claimed events).
      expect(header(path)).toEqual({
        applicationId: EVENT_LOG_SCHEMA.applicationId,
        version: EVENT_LOG_SCHEMA.migrations.length,
      })
    })

    it('the cache (already stamped, version 2): its entry reads back', async () => {
      const path = await legacy('cache.db')
      expect(header(path)).toEqual({ applicationId: CACHE_SCHEMA.applicationId, version: 2 })
      const store = sqliteStore({ path, sweepIntervalMs: 0 })
      const entry = await store.get('/ftc/2025/teams/1', 1_700_000_000_500)
      expect(entry?.value.toString()).toBe('{"team":1}')
      expect(entry?.tags).toEqual(['team:1'])
      await store.close()
    })
  })
})
