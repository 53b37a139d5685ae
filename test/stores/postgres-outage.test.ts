import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { InvalidationMessage } from '../../src/stores/coordination.js'
import { postgresCoordination } from '../../src/stores/postgres/coordination.js'
import { postgresStore } from '../../src/stores/postgres/store.js'
import { StoreError } from '../../src/util/errors.js'
import { makeEntry } from './contract/support.js'
import { eventually, postgresBin, usePostgres } from './postgres-support.js'

const TIMEOUT_MS = 300

/** How long `work` took to settle, and how (a call must fail within its deadline, never hang). */
async function timed(work: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now()
  try {
    await work()
    return { ms: Date.now() - started, error: undefined }
  } catch (error) {
    return { ms: Date.now() - started, error }
  }
}

describe.skipIf(!postgresBin)('postgres outage', () => {
  const pgs = usePostgres()

  for (const how of ['frozen', 'killed'] as const) {
    it(`server ${how}: calls fail within the deadline, then at once; healthy() false; recovery by itself`, async () => {
      const namespace = pgs.namespace()
      const a = pgs.connect({ namespace, timeoutMs: TIMEOUT_MS })
      const b = pgs.connect({ namespace, timeoutMs: TIMEOUT_MS })
      const store = postgresStore({ connection: a, sweepIntervalMs: 0 })
      const coordA = postgresCoordination(a, { instanceId: 'A' })
      const coordB = postgresCoordination(b, { instanceId: 'B' })
      const heard: InvalidationMessage[] = []
      const gaps: string[] = []
      coordB.invalidations.subscribe({ invalidate: (m) => heard.push(m), gap: (r) => gaps.push(r) })
      await coordA.start()
      await coordB.start()
      await store.set(makeEntry('k'))
      expect(coordA.healthy()).toBe(true)
      // Commits are asynchronous (synchronous_commit=off): a crash may lose the last few hundred ms.
      await new Promise((resolve) => setTimeout(resolve, 800))

      // B fetches 'held' and A waits for it, with a timeout as long as a lease: the outage starts while
      // A waits. A must give up within about one deadline, not sit out its timeout (a request waits on it).
      const held = await coordB.leases.acquire('held', 10_000)
      const waiting = timed(() => coordA.leases.waitFor('held', 5000))
      if (how === 'frozen') pgs.server.freeze()
      else await pgs.server.kill()
      try {
        const wait = await waiting
        expect(wait.error).toBeInstanceOf(StoreError)
        expect(wait.ms).toBeLessThan(TIMEOUT_MS + 1000)
        // The first calls run into the deadline (frozen) or a refused connection (killed)...
        for (let i = 0; i < 2; i++) {
          const { ms, error } = await timed(() => store.get('k'))
          expect(error).toBeInstanceOf(StoreError)
          expect(ms).toBeLessThan(TIMEOUT_MS + 300)
        }
        // ...then the breaker is open: every part fails at once and says it is unhealthy.
        expect(coordA.healthy()).toBe(false)
        expect(store.health()).toMatchObject({ ok: false })
        for (const call of [
          () => store.set(makeEntry('k2')),
          () => coordA.leases.acquire('k', 1000),
          () => coordA.ceiling.take('up', { intervalMs: 100, burst: 1, reserve: 0 }, 'foreground'),
          () => coordA.invalidations.publish({ selector: { key: 'k' }, soft: false }),
          () => coordA.once.first('s', 'i', 1000),
          () => coordA.refreshClaims.claim('k', 1000),
        ]) {
          const { ms, error } = await timed(call)
          expect(error).toBeInstanceOf(StoreError)
          expect(ms).toBeLessThan(50)
        }
        // A lease wait never hangs past its timeout either.
        const { ms } = await timed(() => coordA.leases.waitFor('k', 200))
        expect(ms).toBeLessThan(400)
      } finally {
        if (how === 'frozen') pgs.server.thaw()
        else await pgs.server.restart()
      }
      // Nobody calls: the probe alone closes the breaker.
      expect(await eventually(() => coordA.healthy() && coordB.healthy(), 10_000)).toBe(true)
      expect((await store.get('k'))?.key).toBe('k')
      // The bus works again, B's listening connection included.
      await coordA.invalidations.publish({ selector: { key: 'after' }, soft: false })
      expect(
        await eventually(() => heard.some((m) => 'key' in m.selector && m.selector.key === 'after')),
      ).toBe(true)
      expect(gaps).toEqual([])
      await held?.release()
      await coordA.close()
      await coordB.close()
    }, 30_000)
  }

  it('a peer migrating longer than the query deadline: the second instance waits for it (migrations have their own)', async () => {
    const namespace = pgs.namespace()
    // A peer holding the migration lock for a second, past this connection's 300 ms statement timeout.
    const peer = new pg.Client(pgs.server.url)
    await peer.connect()
    await peer.query('BEGIN')
    await peer.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cistern migrate ${namespace}`])
    const connection = pgs.connect({ namespace, timeoutMs: TIMEOUT_MS })
    const migrated = timed(() => connection.migrate())
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await peer.query('COMMIT')
    await peer.end()
    const { error, ms } = await migrated
    expect(error).toBeUndefined()
    expect(ms).toBeGreaterThanOrEqual(900)
    expect(connection.healthy()).toBe(true)
  }, 10_000)

  it('server away at start: start() does not throw (refused, or the connection dropped mid-migration); works once back', async () => {
    // Refused: the server is not running at all when the instance starts.
    const connection = pgs.connect({ timeoutMs: TIMEOUT_MS })
    const store = postgresStore({ connection, sweepIntervalMs: 0 })
    const refused = postgresCoordination(connection, { instanceId: 'R' })
    await pgs.server.kill()
    try {
      expect((await timed(() => refused.start())).error).toBeUndefined()
    } finally {
      await pgs.server.restart()
    }
    // Once the server is back it works, with nobody restarting it.
    expect(await eventually(() => refused.healthy(), 10_000)).toBe(true)
    expect(
      await eventually(async () => {
        try {
          await store.set(makeEntry('k'))
          return true
        } catch {
          return false
        }
      }, 10_000),
    ).toBe(true)
    expect((await store.get('k'))?.key).toBe('k')
    await refused.close()

    // Dropped mid-migration: the migrating backend is terminated (57P01) while it waits for the lock.
    const namespace = pgs.namespace()
    const peer = new pg.Client(pgs.server.url)
    await peer.connect()
    await peer.query('BEGIN')
    await peer.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cistern migrate ${namespace}`])
    const dropped = postgresCoordination(pgs.connect({ namespace, timeoutMs: TIMEOUT_MS }), {
      instanceId: 'D',
    })
    const starting = timed(() => dropped.start())
    // From a client of its own: inside the peer's transaction pg_stat_activity is a snapshot.
    const admin = new pg.Client(pgs.server.url)
    await admin.connect()
    const terminated = () =>
      admin
        .query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cistern' AND wait_event_type = 'Lock'",
        )
        .then(({ rows }) => rows.length > 0)
    expect(await eventually(terminated)).toBe(true)
    await admin.end()
    // The peer finishes; start() goes on (its heartbeat migrates again) and must not have thrown.
    await peer.query('COMMIT')
    await peer.end()
    expect((await starting).error).toBeUndefined()
    expect(await eventually(() => dropped.healthy(), 10_000)).toBe(true)
    expect(await dropped.leases.acquire('x', 1000)).toBeTruthy()
    await dropped.close()
  }, 30_000)
})
