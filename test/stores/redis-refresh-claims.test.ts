import { describe, expect, it } from 'vitest'
import type { RefreshClaim, SharedSeen } from '../../src/stores/coordination.js'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { createRedisRefreshClaims, MAX_SHARED_SEEN_BODY } from '../../src/stores/redis/refresh-claims.js'
import { findService } from '../support/services.js'
import { redisFixture } from './redis-helpers.js'

const bin = findService('redis-server')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const seen = (digest: string, body: Buffer | null = Buffer.from(`{"v":"${digest}"}`)): SharedSeen => ({
  digest,
  fetchedAt: 1_700_000_000_000,
  headers: { etag: `"${digest}"`, 'content-type': 'application/json' },
  body,
})

describe.skipIf(!bin)('redis refresh claims', () => {
  const redis = redisFixture(bin!)

  /** Two instances on one namespace (one server), each with its own connection. */
  const instances = (n = 2) => redis.instances(n, createRedisRefreshClaims)

  it('one claim per key: the other instance is told running, then done with the time until next due', async () => {
    const [a, b] = await instances()
    const claim = await a!.claim('/events/1', 2000)
    expect(claim.claimed).toBe(true)
    const busy = await b!.claim('/events/1', 2000)
    expect(busy).toMatchObject({ claimed: false, state: 'running' })
    expect(busy.claimed === false && busy.retryInMs).toBeGreaterThan(1500)
    // Another key is free.
    expect((await b!.claim('/events/2', 2000)).claimed).toBe(true)

    await (claim as RefreshClaim).done(5000, seen('d1'))
    const done = await b!.claim('/events/1', 2000)
    expect(done).toMatchObject({ claimed: false, state: 'done' })
    expect(done.claimed === false && done.retryInMs).toBeGreaterThan(4000)
    expect(done.claimed === false && done.retryInMs).toBeLessThanOrEqual(5000)
    // A forced refresh (a webhook) takes over a done marker, never a running claim.
    const forced = await b!.claim('/events/1', 2000, { force: true })
    expect(forced.claimed).toBe(true)
    expect(await a!.claim('/events/1', 2000, { force: true })).toMatchObject({
      claimed: false,
      state: 'running',
    })
    await (forced as RefreshClaim).release()
    expect((await a!.claim('/events/1', 2000)).claimed).toBe(true)
  })

  it('the done marker expires when the key is next due; done(0) leaves the key free at once', async () => {
    const [a, b] = await instances()
    await ((await a!.claim('k', 2000)) as RefreshClaim).done(150)
    expect((await b!.claim('k', 2000)).claimed).toBe(false)
    await sleep(200)
    const next = await b!.claim('k', 2000)
    expect(next.claimed).toBe(true)
    await (next as RefreshClaim).done(0, seen('x'))
    expect((await a!.claim('k', 2000)).claimed).toBe(true)
  })

  it('what was seen is shared: digest, fetchedAt, headers and body, binary-safe; an oversize body is not kept', async () => {
    const [a, b] = await instances()
    expect(await b!.seen('k')).toBeUndefined()
    const binary = Buffer.from([0, 255, 1, 254, 10, 13, 0])
    await ((await a!.claim('k', 2000)) as RefreshClaim).done(1000, seen('d1', binary))
    expect(await b!.seen('k')).toEqual(seen('d1', binary))
    // A later record replaces the whole of the earlier one (no body left over from it).
    await ((await b!.claim('k', 2000, { force: true })) as RefreshClaim).done(
      1000,
      seen('d2', Buffer.alloc(MAX_SHARED_SEEN_BODY + 1, 'x')),
    )
    expect(await a!.seen('k')).toEqual(seen('d2', null))
    // done() without a record keeps the last one.
    await ((await a!.claim('k', 2000, { force: true })) as RefreshClaim).done(1000)
    expect((await b!.seen('k'))?.digest).toBe('d2')
  })

  it('the holder renews its lease while it runs, and gives it back with release()', async () => {
    const [a, b] = await instances()
    const claim = (await a!.claim('k', 300)) as RefreshClaim
    expect(await b!.claim('k', 300)).toMatchObject({ claimed: false, state: 'running' })
    await sleep(500)
    expect((await b!.claim('k', 300)).claimed).toBe(false)
    expect(claim.signal.aborted).toBe(false)
    await claim.release()
    expect((await b!.claim('k', 300)).claimed).toBe(true)
  })

  it('a holder cut off from the server loses the claim when its lease runs out; another takes it over', async () => {
    const [a, b] = await instances()
    const claim = (await a!.claim('k', 300)) as RefreshClaim
    // The holder's connection goes away: its renewals fail, the server lets the lease expire.
    await redis.connections[0]!.close()
    const busy = await b!.claim('k', 300)
    expect(busy.claimed === false && busy.retryInMs).toBeLessThanOrEqual(300)
    await sleep(busy.claimed === false ? busy.retryInMs + 20 : 0)
    expect((await b!.claim('k', 300)).claimed).toBe(true)
    // And the holder learns it: its signal aborts once a lease term passes without a renewal.
    const deadline = Date.now() + 1000
    while (!claim.signal.aborted && Date.now() < deadline) await sleep(20)
    expect(claim.signal.aborted).toBe(true)
  })

  it('a lease lost while the refresh runs aborts its signal, and its done() records nothing', async () => {
    const [a, b] = await instances()
    const namespaceOf = redis.connections[0]!.namespace
    const claim = (await a!.claim('k', 300)) as RefreshClaim
    // Another instance took the key over (the holder froze past its lease): simulated by rewriting the claim.
    const raw = await redis.connect(namespaceOf)
    const claimKey = (await raw.client.keys(`${namespaceOf}:*:claim`))[0]!
    await raw.client.set(claimKey, 'running:other:token', 'PX', 5000)
    const deadline = Date.now() + 2000
    while (!claim.signal.aborted && Date.now() < deadline) await sleep(20)
    expect(claim.signal.aborted).toBe(true)
    await claim.done(1000, seen('late'))
    expect(await b!.seen('k')).toBeUndefined()
    expect(await raw.client.get(claimKey)).toBe('running:other:token')
  })

  it('keys are injective: keys that differ only in braces or separators claim separately', async () => {
    const [a] = await instances(1)
    const keys = ['/a{b}', '/a{c}', '/a:b', '/a', '/a:b:claim']
    for (const key of keys) expect((await a!.claim(key, 2000)).claimed).toBe(true)
  })

  it('fails with a StoreError when the server is unreachable (no hang)', async () => {
    const connection = new RedisConnection({ url: 'redis://127.0.0.1:1', timeoutMs: 200 })
    redis.connections.push(connection)
    const claims = createRedisRefreshClaims(connection, 'x')
    const started = Date.now()
    await expect(claims.claim('k', 1000)).rejects.toMatchObject({ name: 'StoreError' })
    await expect(claims.seen('k')).rejects.toMatchObject({ name: 'StoreError' })
    expect(Date.now() - started).toBeLessThan(1000)
  })
})
