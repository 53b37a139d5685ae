import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { sqliteStore } from '../../src/stores/sqlite/index.js'
import { compareKeys, prefixRange } from '../../src/stores/sqlite/range.js'
import { CACHE_SCHEMA } from '../../src/stores/sqlite/schema.js'
import { SQL } from '../../src/stores/sqlite/statements.js'
import { CisternError } from '../../src/util/errors.js'
import { makeEntry } from './contract/support.js'
import { runStoreContract } from './contract.js'
import { crashWriter, sha256 } from './sqlite-crash.js'
import { transpileSqliteStore } from './transpile.js'

runStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cistern-sqlite-'))
  const path = join(dir, 'cache.db')
  // No background sweep: the contract's sweep tests count what they drop themselves.
  const open = () => sqliteStore({ path, sweepIntervalMs: 0 })
  return {
    store: open(),
    reopen: async () => open(),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
})

describe('sqlite store specifics', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cistern-sqlite-x-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  async function openError(path: string, busyTimeoutMs?: number): Promise<CisternError> {
    try {
      sqliteStore({ path, sweepIntervalMs: 0, busyTimeoutMs })
    } catch (error) {
      expect(error).toBeInstanceOf(CisternError)
      return error as CisternError
    }
    throw new Error(`opening ${path} did not fail`)
  }

  it('puts the file in WAL mode, stamps it as cistern’s and creates missing parent directories', async () => {
    const path = join(dir, 'nested/deeper/cache.db')
    const store = sqliteStore({ path, sweepIntervalMs: 0 })
    await store.set(makeEntry('k'))
    await store.close()
    const db = new Database(path, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('user_version', { simple: true })).toBe(CACHE_SCHEMA.migrations.length)
    expect(db.pragma('application_id', { simple: true })).toBe(CACHE_SCHEMA.applicationId)
    db.close()
  })

  it('keeps its file to itself by default: another opener fails with E_STORE_OPEN until close', async () => {
    const path = join(dir, 'owned.db')
    const owner = sqliteStore({ path, sweepIntervalMs: 0 })
    await owner.set(makeEntry('k'))
    const started = Date.now()
    const error = await openError(path, 100)
    expect(error.code).toBe('E_STORE_OPEN')
    expect(error.message).toMatch(/in use by another process/)
    expect(Date.now() - started).toBeLessThan(2000)
    const reader = new Database(path, { timeout: 50 })
    expect(() => reader.prepare('SELECT count(*) FROM entries').get()).toThrow(/locked/)
    reader.close()
    await owner.close()
    const next = sqliteStore({ path, sweepIntervalMs: 0 })
    expect((await next.get('k'))?.key).toBe('k')
    await next.close()
  })

  it("works in memory for ':memory:'", async () => {
    const store = sqliteStore({ path: ':memory:' })
    await store.set(makeEntry('k', { tags: ['t'] }))
    expect(await store.invalidate({ tag: 't' }, { soft: true, now: Date.now() })).toBe(1)
    expect((await store.get('k'))?.key).toBe('k')
    await store.close()
  })

  it('refuses a directory with E_STORE_OPEN naming the path', async () => {
    const error = await openError(dir)
    expect(error.code).toBe('E_STORE_OPEN')
    expect(error.message).toContain(dir)
  })

  it('refuses a file that is not a database and leaves it byte for byte as it was', async () => {
    const path = join(dir, 'garbage.db')
    const garbage = Buffer.from(
      'this is not an SQLite database, just some text that matters to someone\n'.repeat(200),
    )
    await writeFile(path, garbage)
    const error = await openError(path)
    expect(error.code).toBe('E_STORE_OPEN')
    expect(error.message).toContain(path)
    expect((await readFile(path)).equals(garbage)).toBe(true)
    expect((await readdir(dir)).filter((name) => name.startsWith('garbage.db'))).toEqual(['garbage.db'])
  })

  it('refuses a path whose parent cannot be created', async () => {
    const file = join(dir, 'plain-file')
    await writeFile(file, 'x')
    const path = join(file, 'sub/cache.db')
    const error = await openError(path)
    expect(error.code).toBe('E_STORE_OPEN')
    expect(error.message).toContain(path)
  })

  it('refuses another application’s database and one from a newer cistern, changing neither', async () => {
    const foreign = join(dir, 'foreign.db')
    const other = new Database(foreign)
    other.exec(
      'CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)',
    )
    other.close()
    const before = await readFile(foreign)
    expect((await openError(foreign)).code).toBe('E_STORE_OPEN')
    expect((await readFile(foreign)).equals(before)).toBe(true)

    const newer = join(dir, 'newer.db')
    await sqliteStore({ path: newer, sweepIntervalMs: 0 }).close()
    const db = new Database(newer)
    db.pragma(`user_version = ${CACHE_SCHEMA.migrations.length + 1}`)
    db.close()
    const error = await openError(newer)
    expect(error.code).toBe('E_STORE_OPEN')
    expect(error.message).toMatch(/newer cistern/)
  })

  it('reports corrupted pages as store errors and never rewrites the file', async () => {
    const path = join(dir, 'corrupt.db')
    const store = sqliteStore({ path, sweepIntervalMs: 0 })
    for (let i = 0; i < 50; i++) await store.set(makeEntry(`k:${i}`, { value: Buffer.alloc(3000, i) }))
    await store.close()
    const bytes = await readFile(path)
    // Keep the header page, trash the b-tree pages after it.
    bytes.fill(0xa5, 4096 * 2, 4096 * 6)
    await writeFile(path, bytes)
    let error: unknown
    try {
      const broken = sqliteStore({ path, sweepIntervalMs: 0 })
      for (let i = 0; i < 50 && error === undefined; i++)
        await broken.get(`k:${i}`).catch((e: unknown) => (error = e))
      await broken.list({ limit: 1000 }).catch((e: unknown) => (error ??= e))
      await broken.close()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CisternError)
    expect(['E_STORE', 'E_STORE_OPEN']).toContain((error as CisternError).code)
    expect((await readFile(path)).equals(bytes)).toBe(true)
  })

  it('maps a lock held past busyTimeoutMs to E_STORE_TIMEOUT', async () => {
    const path = join(dir, 'busy.db')
    const store = sqliteStore({ path, busyTimeoutMs: 50, sweepIntervalMs: 0, exclusive: false })
    const other = new Database(path)
    other.exec('BEGIN IMMEDIATE')
    await expect(store.set(makeEntry('k'))).rejects.toMatchObject({ code: 'E_STORE_TIMEOUT' })
    other.exec('ROLLBACK')
    other.close()
    await store.set(makeEntry('k'))
    await store.close()
  })

  it('rejects (never throws) with E_STORE when SQLite refuses a write', async () => {
    const store = sqliteStore({ path: join(dir, 'bad-input.db'), sweepIntervalMs: 0 })
    const bad = { ...makeEntry('k'), digest: undefined } as unknown as ReturnType<typeof makeEntry>
    const call = store.set(bad)
    await expect(call).rejects.toMatchObject({ code: 'E_STORE', store: 'sqlite' })
    expect(await store.get('k')).toBeUndefined()
    await store.close()
  })

  it('shares entries between two connections to one file with exclusive: false', async () => {
    const path = join(dir, 'shared.db')
    const a = sqliteStore({ path, sweepIntervalMs: 0, exclusive: false })
    const b = sqliteStore({ path, sweepIntervalMs: 0, exclusive: false })
    await a.set(makeEntry('k', { tags: ['t'] }))
    expect((await b.get('k'))?.key).toBe('k')
    expect(await b.invalidate({ tag: 't' }, { soft: false, now: Date.now() })).toBe(1)
    expect(await a.get('k')).toBeUndefined()
    expect(await a.stats()).toEqual({ entries: 0, bytes: 0 })
    await Promise.all([a.close(), b.close()])
  })

  it('sweeps expired entries in the background, batch after batch', async () => {
    const store = sqliteStore({ path: join(dir, 'sweeper.db'), sweepIntervalMs: 20, sweepBatch: 3 })
    const now = Date.now()
    for (let i = 0; i < 10; i++) await store.set(makeEntry(`old:${i}`, { expiresAt: now - 1 - i }))
    await store.set(makeEntry('live'))
    await vi.waitFor(async () => expect(await store.stats()).toMatchObject({ entries: 1 }), { timeout: 3000 })
    await store.close()
  })

  describe('query plans', () => {
    let db: Database.Database
    beforeAll(async () => {
      const path = join(dir, 'plans.db')
      await sqliteStore({ path, sweepIntervalMs: 0 }).close()
      db = new Database(path, { readonly: true })
    })
    afterAll(() => db.close())

    function plan(sql: string, params: unknown[] | Record<string, unknown>): string {
      return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[])
        .map((row) => row.detail)
        .join('\n')
    }

    const range = { ...prefixRange('team:'), now: 1 }
    const tagged = { tag: 'teams', now: 1 }
    const page = { ...range, tag: 'teams', limit: 10 }

    it.each([
      ['get', SQL.get, ['k', 1]],
      ['softRange', SQL.softRange, range],
      ['countRange', SQL.countRange, range],
      ['deleteRange', SQL.deleteRange, prefixRange('team:')],
      ['listFirst', SQL.listFirst, { ...range, limit: 10 }],
      ['listAfter', SQL.listAfter, { ...range, limit: 10 }],
      ['softTag', SQL.softTag, tagged],
      ['countTag', SQL.countTag, tagged],
      ['deleteTag', SQL.deleteTag, { tag: 'teams' }],
      ['listTagFirst', SQL.listTagFirst, page],
      ['listTagAfter', SQL.listTagAfter, page],
      ['sweep', SQL.sweep, [1, 10]],
      ['deleteTagsOf', SQL.deleteTagsOf, ['k']],
    ] as const)('%s searches an index and never scans a table', (_, sql, params) => {
      const detail = plan(sql, params as Record<string, unknown>)
      expect(detail).not.toMatch(/\bSCAN (entries|entry_tags|e|t)\b/)
      expect(detail).not.toMatch(/TEMP B-TREE/)
      expect(detail).toMatch(/SEARCH/)
    })

    it('walks a key range for prefixes and the (tag, key) primary key for tags', () => {
      expect(plan(SQL.listFirst, { ...range, limit: 10 })).toMatch(/USING INDEX \S+ \(key>\? AND key<\?\)/)
      expect(plan(SQL.listTagAfter, page)).toMatch(
        /SEARCH t USING PRIMARY KEY \(tag=\? AND key>\? AND key<\?\)/,
      )
      expect(plan(SQL.sweep, [1, 10])).toMatch(/entries_expires_at \(expires_at<\?\)/)
    })
  })

  describe('crash safety', () => {
    let storeModule: string
    beforeAll(async () => {
      const out = join(dir, 'build')
      await mkdir(out, { recursive: true })
      storeModule = await transpileSqliteStore(join(import.meta.dirname, '../..'), out)
    })

    // Kills land at varying points; a run counts only if at least one of them cut a transaction
    // short (seen in the WAL), which is the case a crash-safe store has to get right.
    it('a writer SIGKILLed mid-write leaves a whole, consistent database with every commit in it', async () => {
      let midTransaction = 0
      // Up to 24 kills at 0–3 ms after a 1 MB write starts: how long the write takes depends on the
      // machine, so the delays sweep across it rather than bet on one.
      for (let attempt = 0; attempt < 24 && midTransaction < 1; attempt++) {
        const path = join(dir, `crash-${attempt}.db`)
        const run = await crashWriter(storeModule, path, 2 + (attempt % 12) * 4, attempt % 4)
        if (run.midTransaction) midTransaction++
        await expectWholeDatabase(path, run.committed)
      }
      expect(midTransaction, 'kills that landed inside a transaction').toBeGreaterThan(0)
    }, 120_000)
  })
})

/** The database opens, passes integrity_check, and holds every committed key as a whole entry. */
async function expectWholeDatabase(path: string, committed: Set<string>): Promise<void> {
  expect(committed.size).toBeGreaterThan(0)
  const store = sqliteStore({ path, sweepIntervalMs: 0, exclusive: false })
  const db = new Database(path)
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    const rows = db.prepare('SELECT key, value, digest, size, tags, meta FROM entries').all() as {
      key: string
      value: Buffer
      digest: string
      size: number
      tags: string
      meta: string
    }[]
    for (const row of rows) {
      expect(row.value.length, row.key).toBe(row.size)
      expect(sha256(row.value), row.key).toBe(row.digest)
      expect((JSON.parse(row.meta) as { key: string }).key).toBe(row.key)
    }
    // Tag rows are exactly the union of the entries' tags: none torn off, none left behind.
    const byKeyThenTag = (a: { tag: string; key: string }, b: { tag: string; key: string }) =>
      compareKeys(a.key, b.key) || compareKeys(a.tag, b.tag)
    const tagRows = db.prepare('SELECT tag, key FROM entry_tags').all() as { tag: string; key: string }[]
    const expectedTags = rows.flatMap((row) =>
      (JSON.parse(row.tags) as string[]).map((tag) => ({ tag, key: row.key })),
    )
    expect(tagRows.sort(byKeyThenTag)).toEqual(expectedTags.sort(byKeyThenTag))
    expect(await store.stats()).toEqual({
      entries: rows.length,
      bytes: rows.reduce((sum, row) => sum + row.size, 0),
    })
    for (const key of committed) expect(await store.get(key), key).toBeDefined()
  } finally {
    db.close()
    await store.close()
  }
}
