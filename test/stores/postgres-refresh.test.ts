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
