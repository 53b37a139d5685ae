import { statSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { CisternConfig } from '../../src/config/types.js'
import { refreshDbPath } from '../../src/refresh/db.js'
import { type SqliteStore, sqliteStore } from '../../src/stores/sqlite/index.js'
import { eventLogPath } from '../../src/webhooks/store/index.js'
import { type Harness, startHarness } from './harness.js'

/**
 * The store's bound and its faults, over real HTTP: a flood of distinct keys stays within
 * store.maxSize; a full disk and a damaged file leave cistern serving (memory tier, upstream),
 * restartable, and reported by /readyz.
 */

const TOKEN = 'store-faults-admin-token'
const MB = 1000 ** 2

const yaml = (store = '') => `
listen: \${CISTERN_LISTEN}
admin: { listen: "\${CISTERN_ADMIN_LISTEN}" }
store: { kind: sqlite, path: "\${CISTERN_DB}"${store} }
upstreams:
  ftc:
    url: "\${SIM_URL}"
    timeout: 2s
routes:
  - path: /ftc/:season/events
    upstream: ftc
    to: /:season/events
    ttl: 1h
    stale: 7d
`

interface Readyz {
  ok: boolean
  store: { kind: string; ok: boolean; error?: string; recentFailures?: number }
}

async function readyz(h: Harness): Promise<{ status: number; body: Readyz }> {
  const res = await fetch(`${h.cistern.adminUrl}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return { status: res.status, body: (await res.json()) as Readyz }
}

const admin = { admin: { token: TOKEN, env: {} } }

describe('gateway: store bound and disk faults', () => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('a flood of distinct query strings over HTTP keeps the store under store.maxSize', async () => {
    // The test opens the store itself, as the config would, to look at its file-level counters.
    let store: SqliteStore | undefined
    const start = (config: CisternConfig) => {
      if (config.store.kind !== 'sqlite') throw new Error('expected a sqlite store')
      store = sqliteStore({ path: config.store.path, maxSize: config.store.maxSize })
      return { ...admin, store }
    }
    h = await startHarness({ yaml: yaml(', maxSize: 1MB'), start })
    // About 2.5 kB stored per answer: 600 of them are three times what 1 MB holds.
    const requests = 600
    let next = 0
    // Eight clients, each sending its next junk query as soon as the last one is answered.
    const client = async () => {
      while (next < requests) {
        const res = await h!.get(`/ftc/2025/events?junk=${next++}`)
        expect(res.status).toBe(200)
        await res.arrayBuffer()
      }
    }
    await Promise.all(Array.from({ length: 8 }, client))
    await store!.idle()
    const { entries, bytes } = await store!.stats()
    expect(store!.usedBytes()).toBeLessThanOrEqual(MB)
    // Every answer was stored once: far more than the bound holds.
    expect(entries).toBeLessThan(requests / 2)
    expect(bytes).toBeLessThan(MB)
    expect(statSync(h.config.store.kind === 'sqlite' ? h.config.store.path : '').size).toBeLessThanOrEqual(MB)
    expect((await readyz(h)).status).toBe(200)
  }, 120_000)

  it('a full disk: answers from the upstream and from memory, /readyz says why, a restart keeps every stored entry', async () => {
    // max_page_count is SQLite's own page ceiling: past it a write fails with SQLITE_FULL, as on a full disk.
    const start = (config: CisternConfig) => ({
      ...admin,
      store: sqliteStore({ path: config.store.kind === 'sqlite' ? config.store.path : '', maxPageCount: 24 }),
    })
    h = await startHarness({ yaml: yaml(), start })
    const bodies = new Map<string, string>()
    let full = false
    for (let i = 0; i < 200 && !full; i++) {
      const path = `/ftc/2025/events?fill=${i}`
      const res = await h.get(path)
      expect(res.status).toBe(200)
      bodies.set(path, await res.text())
      full = (await readyz(h)).status === 503
    }
    expect(full).toBe(true)
    const report = await readyz(h)
    expect(report.body).toMatchObject({ ok: false, store: { kind: 'sqlite', ok: false } })
    expect(report.body.store.error).toMatch(/full/)
    expect(report.body.store.recentFailures).toBeGreaterThan(0)

    // A key never seen: a MISS answered from the upstream, then a HIT from memory.
    const miss = await h.get('/ftc/2025/events?after=full')
    expect(miss.status).toBe(200)
    expect(miss.headers.get('x-cache-status')).toBe('MISS')
    const hit = await h.get('/ftc/2025/events?after=full')
    expect(hit.status).toBe(200)
    expect(hit.headers.get('x-cache-status')).toBe('HIT')
    expect(await hit.text()).toBe(await miss.text())

    // Restart on the full disk: it starts, and what was stored before the disk filled is served as
    // stored (the memory tier starts empty, so these HITs come from the file).
    await h.restart()
    const stored = [...bodies.keys()].slice(0, 3)
    for (const path of stored) {
      const again = await h.get(path)
      expect(again.status).toBe(200)
      expect(again.headers.get('x-cache-status')).toBe('HIT')
      expect(await again.text()).toBe(bodies.get(path))
    }
    // And the file itself is sound.
    await h.cistern.close(500)
    const db = new Database(h.config.store.kind === 'sqlite' ? h.config.store.path : '', { readonly: true })
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    db.close()
    await h.restart()
  }, 60_000)

  it('a damaged cache file: cistern starts, serves from the upstream, /readyz reports quick_check', async () => {
    h = await startHarness({ yaml: yaml(), start: () => admin })
    for (let i = 0; i < 40; i++) await (await h.get(`/ftc/2025/events?n=${i}`)).arrayBuffer()
    await h.cistern.close(500)
    const path = h.config.store.kind === 'sqlite' ? h.config.store.path : ''
    const bytes = await readFile(path)
    expect(bytes.length).toBeGreaterThan(8 * 4096)
    // Keep the header page, overwrite b-tree pages after it with garbage.
    bytes.fill(0xa5, 4096 * 2, 4096 * 6)
    await writeFile(path, bytes)

    await h.restart()
    const report = await readyz(h)
    expect(report.status).toBe(503)
    expect(report.body.store.error).toMatch(/quick_check/)
    const res = await h.get('/ftc/2025/events?n=fresh')
    expect(res.status).toBe(200)
    expect((await h.get('/ftc/2025/events?n=fresh')).headers.get('x-cache-status')).toBe('HIT')
    // Nothing was written over the damaged file: it is the operator's to inspect or remove.
    await h.cistern.close(500)
    expect((await readFile(path)).subarray(4096 * 2, 4096 * 6).every((b) => b === 0xa5)).toBe(true)
    await h.restart()
  }, 60_000)

  it('garbage in every SQLite file: cistern starts on memory and the upstream, /readyz reports the store', async () => {
    h = await startHarness({ yaml: yaml(), start: () => admin })
    await (await h.get('/ftc/2025/events')).arrayBuffer()
    await h.cistern.close(500)
    const store = h.config.store
    const path = store.kind === 'sqlite' ? store.path : ''
    const garbage = Buffer.alloc(64 * 1024, 0x5a)
    for (const file of [path, eventLogPath(path), refreshDbPath(store)]) await writeFile(file, garbage)

    await h.restart()
    const report = await readyz(h)
    expect(report.status).toBe(503)
    expect(report.body.store.error).toMatch(/not a database|malformed/)
    const first = await h.get('/ftc/2025/events')
    expect(first.status).toBe(200)
    expect(first.headers.get('x-cache-status')).toBe('MISS')
    expect((await h.get('/ftc/2025/events')).headers.get('x-cache-status')).toBe('HIT')
    // The files are left as they were.
    for (const file of [path, eventLogPath(path), refreshDbPath(store)]) {
      expect((await readFile(file)).equals(garbage)).toBe(true)
    }
  }, 60_000)
})
