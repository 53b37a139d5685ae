import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { openStore } from '../../src/stores/open-store.js'
import { createPostgresLeases } from '../../src/stores/postgres/leases.js'
import { postgresStore } from '../../src/stores/postgres/store.js'
import { findService, type ServiceHandle, startPostgres } from '../support/services.js'
import { makeEntry } from './contract/support.js'
import { runStoreContract } from './contract.js'

const bin = findService('postgres')
let server: ServiceHandle
let schemas = 0

describe.skipIf(!bin)('postgres store', () => {
  beforeAll(async () => {
    server = await startPostgres(bin!)
  }, 60_000)
  afterAll(async () => server?.stop())

  // Each test gets a schema of its own: a fresh, empty store on the one server.
  runStoreContract('postgres', async () => {
    const namespace = `contract_${++schemas}`
    // A generous deadline: the concurrency tests queue 144 calls on 10 connections on a busy machine.
    // The deadline itself is tested in postgres-outage.test.ts.
    const open = () => postgresStore({ url: server.url, namespace, sweepIntervalMs: 0, timeoutMs: 5000 })
    return {
      store: open(),
      reopen: async () => open(),
      cleanup: async () => {
        const client = new pg.Client(server.url)
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS "${namespace}" CASCADE`)
        await client.end()
      },
    }
  })

  it('keeps a write whose fence is not older than the stored one, drops an older one', async () => {
    const store = postgresStore({ url: server.url, namespace: 'fence', sweepIntervalMs: 0 })
    const now = Date.now()
    await store.set(makeEntry('k', { etag: '"10"' }, now), { fence: 10 })
    await store.set(makeEntry('k', { etag: '"9"' }, now), { fence: 9 })
    expect((await store.get('k'))?.etag).toBe('"10"')
    await store.set(makeEntry('k', { etag: '"10b"' }, now), { fence: 10 })
    expect((await store.get('k'))?.etag).toBe('"10b"')
    // Without a fence a write always lands, and keeps the stored version: fence 9 is still refused.
    await store.set(makeEntry('k', { etag: '"free"' }, now))
    expect((await store.get('k'))?.etag).toBe('"free"')
    await store.set(makeEntry('k', { etag: '"9"' }, now), { fence: 9 })
    expect((await store.get('k'))?.etag).toBe('"free"')
    await store.close()
  })

  it('soft purges end freshness at the earlier of the caller’s now and the server’s', async () => {
    const store = postgresStore({ url: server.url, namespace: 'soft_clock', sweepIntervalMs: 0 })
    const now = Date.now()
    await store.set(makeEntry('k', { freshUntil: now + 60_000 }, now))
    await store.set(makeEntry('/p/1', { freshUntil: now + 60_000 }, now))
    // A caller whose clock runs an hour ahead cannot keep the entries fresh for an hour (by key, by prefix).
    const ahead = now + 3_600_000
    expect(await store.invalidate({ key: 'k' }, { soft: true, now: ahead })).toBe(1)
    expect(await store.invalidate({ prefix: '/p/' }, { soft: true, now: ahead })).toBe(1)
    for (const key of ['k', '/p/1']) {
      const entry = await store.get(key, now)
      expect(entry!.freshUntil).toBeLessThanOrEqual(Date.now())
      expect(entry!.freshUntil).toBeGreaterThanOrEqual(now - 1000)
    }
    await store.close()
  })

  it('uses a caller’s pool and never closes it; any namespace is a safe schema name', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 2 })
    const namespace = 'team "ftc"; DROP TABLE x --'
    const store = postgresStore({ pool, namespace, sweepIntervalMs: 0 })
    await store.set(makeEntry('/api/teams', { tags: ['teams'] }))
    expect((await store.get('/api/teams'))?.tags).toEqual(['teams'])
    await store.close()
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [
      namespace,
    ])
    expect(rows[0].n).toBe(1)
    await pool.end()
  })

  it('a namespace with a quote works for writes: the store’s and a lease’s (its versions sequence)', async () => {
    const store = postgresStore({ url: server.url, namespace: "o'brien", sweepIntervalMs: 0 })
    await store.set(makeEntry('k', { tags: ['t'] }))
    expect((await store.get('k'))?.tags).toEqual(['t'])
    const leases = createPostgresLeases(store.connection, 'A')
    const lease = await leases.acquire('k', 1000)
    expect(lease?.fence).toBeGreaterThan(0)
    await lease?.release()
    await store.close()
  })

  it('two instances starting together migrate once, under the lock', async () => {
    const stores = Array.from({ length: 4 }, () =>
      postgresStore({ url: server.url, namespace: 'together', sweepIntervalMs: 0 }),
    )
    await Promise.all(stores.map((store, i) => store.set(makeEntry(`k${i}`))))
    expect((await stores[0]!.stats()).entries).toBe(4)
    const client = new pg.Client(server.url)
    await client.connect()
    const { rows } = await client.query('SELECT version FROM together.schema_version')
    await client.end()
    expect(rows).toHaveLength(1)
    for (const store of stores) await store.close()
  })

  it('openStore opens kind postgres from a config (url, namespace, timeout, maxSize)', async () => {
    const config = parseConfig(
      `store:\n  kind: postgres\n  url: ${server.url}\n  namespace: from_config\n  timeout: 500ms\n`,
      '/tmp/cistern.yaml',
      {},
    )
    const store = openStore(config.store)
    expect(store.name).toBe('postgres')
    await store.set(makeEntry('k'))
    expect((await store.get('k'))?.key).toBe('k')
    await store.close()
  })

  it('evicts the least recently used entries past maxSize', async () => {
    const store = postgresStore({ url: server.url, namespace: 'bounded', sweepIntervalMs: 0, maxSize: '1MB' })
    const value = Buffer.alloc(20_000, 'x')
    for (let i = 0; i < 100; i++) await store.set(makeEntry(`k${i}`, { value, size: value.length }))
    await store.idle()
    const { entries, bytes } = await store.stats()
    expect(bytes + entries * 256).toBeLessThanOrEqual(1_000_000)
    // The newest writes are kept; the oldest went first.
    expect(await store.get('k99')).toBeDefined()
    expect(await store.get('k0')).toBeUndefined()
    await store.close()
  })
})
