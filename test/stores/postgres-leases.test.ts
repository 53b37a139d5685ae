import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createPostgresLeases } from '../../src/stores/postgres/leases.js'
import { postgresStore } from '../../src/stores/postgres/store.js'
import { makeEntry } from './contract/support.js'
import { eventually, postgresBin, usePostgres } from './postgres-support.js'

describe.skipIf(!postgresBin)('postgres leases', () => {
  const pgs = usePostgres()

  function pair() {
    const namespace = pgs.namespace()
    const a = pgs.connect({ namespace })
    const b = pgs.connect({ namespace })
    return { namespace, a, b, leasesA: createPostgresLeases(a, 'A'), leasesB: createPostgresLeases(b, 'B') }
  }

  async function admin(sql: string): Promise<void> {
    const client = new pg.Client(pgs.server.url)
    await client.connect()
    await client.query(sql)
    await client.end()
  }

  it('one holder per key at a time, with fences increasing across instances', async () => {
    const { leasesA, leasesB } = pair()
    const first = await leasesA.acquire('k', 5000)
    expect(first).toBeDefined()
    expect(await leasesB.acquire('k', 5000)).toBeUndefined()
    expect(await leasesA.acquire('k', 5000)).toBeUndefined()
    const other = await leasesB.acquire('other', 5000)
    expect(other!.fence).toBeGreaterThan(first!.fence)
    await first!.release()
    const next = await leasesB.acquire('k', 5000)
    expect(next!.fence).toBeGreaterThan(other!.fence)
    await next!.release()
    await other!.release()
  })

  it('a release wakes the waiters on other instances at once (a notice, not the poll)', async () => {
    const { leasesA, leasesB } = pair()
    const lease = await leasesA.acquire('k', 10_000)
    const waiting = leasesB.waitFor('k', 5000)
    // Past the first poll, so only the notice can wake it quickly.
    await new Promise((resolve) => setTimeout(resolve, 400))
    const released = Date.now()
    await lease!.release()
    expect(await waiting).toBe(true)
    expect(Date.now() - released).toBeLessThan(200)
  })

  it('waitFor answers false when its timeout passes first', async () => {
    const { leasesA, leasesB } = pair()
    const lease = await leasesA.acquire('k', 10_000)
    const started = Date.now()
    expect(await leasesB.waitFor('k', 300)).toBe(false)
    expect(Date.now() - started).toBeLessThan(1000)
    await lease!.release()
  })

  it('a holder that dies without releasing delays waiters by at most its lease (and a poll)', async () => {
    const { a, leasesB } = pair()
    const dead = createPostgresLeases(a, 'dead')
    const lease = await dead.acquire('k', 400)
    expect(lease).toBeDefined()
    // It dies: no renewal, no release.
    await a.close()
    const started = Date.now()
    expect(await leasesB.waitFor('k', 5000)).toBe(true)
    expect(Date.now() - started).toBeLessThan(400 + 1200)
    const taken = await leasesB.acquire('k', 5000)
    expect(taken!.fence).toBeGreaterThan(lease!.fence)
    await taken!.release()
  })

  it('renewal keeps a lease past its ttl while the holder lives', async () => {
    const { leasesA, leasesB } = pair()
    const lease = await leasesA.acquire('k', 300)
    await new Promise((resolve) => setTimeout(resolve, 900))
    expect(lease!.signal.aborted).toBe(false)
    expect(await leasesB.acquire('k', 300)).toBeUndefined()
    await lease!.release()
  })

  it('a lease taken over while its holder was frozen aborts its signal, and its late write is rejected', async () => {
    const { namespace, a, b, leasesA, leasesB } = pair()
    const storeA = postgresStore({ connection: a, sweepIntervalMs: 0 })
    const storeB = postgresStore({ connection: b, sweepIntervalMs: 0 })
    const late = await leasesA.acquire('k', 600)
    // A freezes past its lease: its row runs out and B takes the key.
    await admin(`UPDATE "${namespace}".leases SET expires_at = 0`)
    const current = await leasesB.acquire('k', 5000)
    expect(current!.fence).toBeGreaterThan(late!.fence)
    await storeB.set(makeEntry('k', { etag: '"B"' }), { fence: current!.fence })
    // A thaws and writes what it fetched: refused by the fence.
    await storeA.set(makeEntry('k', { etag: '"A"' }), { fence: late!.fence })
    expect((await storeA.get('k'))?.etag).toBe('"B"')
    // Its next renewal finds the lease gone.
    expect(await eventually(() => late!.signal.aborted, 2000)).toBe(true)
    await late!.release()
    await current!.release()
  })
})
