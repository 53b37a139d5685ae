import { describe, expect, it } from 'vitest'
import type { SharedChange } from '../../src/stores/coordination.js'
import { createPostgresChangeLog } from '../../src/stores/postgres/change-log.js'
import { createPostgresOnce } from '../../src/stores/postgres/once.js'
import { createPostgresRefreshClaims } from '../../src/stores/postgres/refresh-claims.js'
import { eventually, postgresBin, usePostgres } from './postgres-support.js'

describe.skipIf(!postgresBin)('postgres refresh claims, change log and once', () => {
  const pgs = usePostgres()

  function pair() {
    const namespace = pgs.namespace()
    return { a: pgs.connect({ namespace }), b: pgs.connect({ namespace }) }
  }

  it('a key is claimed by one instance; done holds it until next due; release frees it at once', async () => {
    const { a, b } = pair()
    const claimsA = createPostgresRefreshClaims(a, 'A')
    const claimsB = createPostgresRefreshClaims(b, 'B')
    const claim = await claimsA.claim('/teams', 5000)
    expect(claim.claimed).toBe(true)
    const busy = await claimsB.claim('/teams', 5000)
    expect(busy).toMatchObject({ claimed: false, state: 'running' })
    if (!claim.claimed) throw new Error('unreachable')
    const seen = { digest: 'd1', fetchedAt: 1234, headers: { etag: '"x"' }, body: Buffer.from('{"a":1}') }
    await claim.done(800, seen)
    const done = await claimsB.claim('/teams', 5000)
    expect(done).toMatchObject({ claimed: false, state: 'done' })
    expect(done.claimed ? 0 : done.retryInMs).toBeGreaterThan(500)
    expect(await claimsB.seen('/teams')).toEqual(seen)
    // Due again: whoever looks first takes it.
    await new Promise((resolve) => setTimeout(resolve, 850))
    const again = await claimsB.claim('/teams', 5000)
    expect(again.claimed).toBe(true)
    if (again.claimed) await again.release()
    const afterRelease = await claimsA.claim('/teams', 5000)
    expect(afterRelease.claimed).toBe(true)
    if (afterRelease.claimed) await afterRelease.release()
  })

  it('a claimer that dies mid-refresh loses the key after its lease; one live claimer renews past it', async () => {
    const { a, b } = pair()
    const dying = createPostgresRefreshClaims(a, 'A')
    const claimsB = createPostgresRefreshClaims(b, 'B')
    const first = await dying.claim('/dies', 300)
    expect(first.claimed).toBe(true)
    await a.close()
    expect(await eventually(async () => (await claimsB.claim('/lives', 300)).claimed)).toBe(true)
    const lives = await claimsB.claim('/dies', 300)
    expect(lives.claimed).toBe(false)
    expect(await eventually(async () => (await claimsB.claim('/dies', 300)).claimed, 2000)).toBe(true)
    // /lives is held by B and renewed past 300 ms.
    await new Promise((resolve) => setTimeout(resolve, 700))
    const other = createPostgresRefreshClaims(pgs.connect({ namespace: b.namespace }), 'C')
    expect((await other.claim('/lives', 300)).claimed).toBe(false)
  })

  it('a forced claim takes over a done marker, never a running claim', async () => {
    const { a, b } = pair()
    const claimsA = createPostgresRefreshClaims(a, 'A')
    const claimsB = createPostgresRefreshClaims(b, 'B')
    const first = await claimsA.claim('/events/1', 2000)
    if (!first.claimed) throw new Error('not claimed')
    // Running: not even a forced claim runs beside it.
    expect(await claimsB.claim('/events/1', 2000, { force: true })).toMatchObject({
      claimed: false,
      state: 'running',
    })
    await first.done(5000)
    expect(await claimsB.claim('/events/1', 2000)).toMatchObject({ claimed: false, state: 'done' })
    const forced = await claimsB.claim('/events/1', 2000, { force: true })
    expect(forced.claimed).toBe(true)
    expect(await claimsA.claim('/events/1', 2000, { force: true })).toMatchObject({
      claimed: false,
      state: 'running',
    })
    if (forced.claimed) await forced.release()
    expect((await claimsA.claim('/events/1', 2000)).claimed).toBe(true)
  })

  it('what was seen: a later record replaces the whole earlier one; an oversize body is not kept; done() without one keeps it', async () => {
    const { a, b } = pair()
    const claimsA = createPostgresRefreshClaims(a, 'A', { maxSeenBody: 16 })
    const claimsB = createPostgresRefreshClaims(b, 'B', { maxSeenBody: 16 })
    const binary = Buffer.from([0, 255, 1, 254, 10, 13, 0])
    const seen = (digest: string, body: Buffer | null) => ({
      digest,
      fetchedAt: 1,
      headers: { etag: digest },
      body,
    })
    const first = await claimsA.claim('k', 2000)
    if (!first.claimed) throw new Error('not claimed')
    await first.done(1000, seen('d1', binary))
    expect(await claimsB.seen('k')).toEqual(seen('d1', binary))
    const second = await claimsB.claim('k', 2000, { force: true })
    if (!second.claimed) throw new Error('not claimed')
    await second.done(1000, seen('d2', Buffer.alloc(17, 'x')))
    expect(await claimsA.seen('k')).toEqual(seen('d2', null))
    const third = await claimsA.claim('k', 2000, { force: true })
    if (!third.claimed) throw new Error('not claimed')
    await third.done(1000)
    expect((await claimsB.seen('k'))?.digest).toBe('d2')
  })

  it('trim forgets a key a day past its due time: its claim marker and what was seen of it', async () => {
    const { a, b } = pair()
    const claimsA = createPostgresRefreshClaims(a, 'A')
    const claimsB = createPostgresRefreshClaims(b, 'B')
    const seen = { digest: 'd', fetchedAt: 1, headers: {}, body: Buffer.alloc(1000, 'x') }
    for (const key of ['cold', 'warm']) {
      const claim = await claimsA.claim(key, 2000)
      if (!claim.claimed) throw new Error('not claimed')
      await claim.done(60_000, seen)
    }
    // 'cold' was due more than a day ago and nobody refreshed it since.
    await a.query(
      'test: age a marker',
      `UPDATE ${a.table('refresh_claims')} SET until = until - 2 * 86400000 WHERE key = 'cold'`,
    )
    await claimsB.trim()
    expect(await claimsA.seen('cold')).toBeUndefined()
    expect((await claimsA.seen('warm'))?.digest).toBe('d')
    expect(await claimsB.claim('warm', 2000)).toMatchObject({ claimed: false, state: 'done' })
  })

  it('a claim lost while its refresh runs aborts its signal, and its done() records nothing', async () => {
    const { a, b } = pair()
    const claimsA = createPostgresRefreshClaims(a, 'A')
    const claimsB = createPostgresRefreshClaims(b, 'B')
    const claim = await claimsA.claim('k', 300)
    if (!claim.claimed) throw new Error('not claimed')
    // Another instance took the key over (the holder froze past its lease): simulated by rewriting the row.
    await b.query(
      'test',
      `UPDATE ${b.table('refresh_claims')} SET token = 'other:token', until = until + 5000`,
    )
    expect(await eventually(() => claim.signal.aborted, 2000)).toBe(true)
    await claim.done(1000, { digest: 'late', fetchedAt: 1, headers: {}, body: null })
    expect(await claimsB.seen('k')).toBeUndefined()
    const { rows } = await b.query<{ state: string; token: string }>(
      'test',
      `SELECT state, token FROM ${b.table('refresh_claims')}`,
    )
    expect(rows).toEqual([{ state: 'running', token: 'other:token' }])
  })

  it('done() on a claim taken over before its renewal noticed records nothing and aborts the signal', async () => {
    const { a, b } = pair()
    const claimsA = createPostgresRefreshClaims(a, 'A')
    const claimsB = createPostgresRefreshClaims(b, 'B')
    // A long lease: the renewal does not run before done(), so only done() itself can find the loss.
    const claim = await claimsA.claim('k', 60_000)
    if (!claim.claimed) throw new Error('not claimed')
    await b.query('test', `UPDATE ${b.table('refresh_claims')} SET token = 'other:token'`)
    expect(claim.signal.aborted).toBe(false)
    await claim.done(1000, { digest: 'late', fetchedAt: 1, headers: {}, body: null })
    expect(claim.signal.aborted).toBe(true)
    expect(await claimsB.seen('k')).toBeUndefined()
    expect(await claimsB.claim('k', 1000)).toMatchObject({ claimed: false, state: 'running' })
  })

  it('the change log serves the same ids on every instance, resumes after an id, and is bounded', async () => {
    const { a, b } = pair()
    const logA = createPostgresChangeLog(a, { capacity: 5 })
    const logB = createPostgresChangeLog(b, { capacity: 5 })
    const tailed: SharedChange[] = []
    logB.tail((event) => tailed.push(event))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const events = Array.from({ length: 4 }, (_, i) => ({ id: `e${i}`, route: 'teams', json: `{"n":${i}}` }))
    for (const event of events) await logA.append(event)
    await logA.append(events[1]!)
    expect(await eventually(() => tailed.length === 4)).toBe(true)
    expect(tailed).toEqual(events)
    expect(await logB.since(undefined, 100)).toEqual(events)
    expect(await logB.since('e1', 100)).toEqual(events.slice(2))
    expect(await logB.since('e1', 1)).toEqual(events.slice(2, 3))
    expect(await logB.since('e3', 100)).toEqual([])
    expect(await logB.since('nope', 100)).toBeUndefined()
    for (let i = 4; i < 8; i++) await logA.append({ id: `e${i}`, route: 'teams', json: '{}' })
    const kept = await logA.since(undefined, 100)
    expect(kept!.map((event) => event.id)).toEqual(['e3', 'e4', 'e5', 'e6', 'e7'])
    // A client whose last id was trimmed away must reset.
    expect(await logB.since('e0', 100)).toBeUndefined()
    logA.close()
    logB.close()
  })

  it('once: the first caller of (scope, id) on any instance, again after the ttl', async () => {
    const { a, b } = pair()
    const onceA = createPostgresOnce(a)
    const onceB = createPostgresOnce(b)
    // Both schemas ready first: the ttl below is short, and a migration takes part of it.
    await Promise.all([a.migrate(), b.migrate()])
    // A long ttl for the race: new pooled connections on a busy machine take a while to open.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? onceA : onceB).first('webhook:tba', 'delivery-1', 10_000),
      ),
    )
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(await onceA.first('webhook:other', 'delivery-1', 10_000)).toBe(true)
    expect(await onceA.first('webhook:short', 'delivery-1', 300)).toBe(true)
    expect(await onceB.first('webhook:short', 'delivery-1', 300)).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect(await onceB.first('webhook:short', 'delivery-1', 300)).toBe(true)
    await onceA.trim()
  })
})
