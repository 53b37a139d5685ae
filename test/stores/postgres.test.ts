import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
    const open = () => postgresStore({ url: server.url, namespace, sweepIntervalMs: 0 })
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
})
