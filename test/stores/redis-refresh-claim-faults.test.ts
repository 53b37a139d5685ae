import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import type { StoredResponse } from '../../src/gateway/response/stored-response.js'
import type { RefreshOutcome } from '../../src/gateway/server/refresh-key.js'
import { createRefresh, type Refresh, type RefreshHost } from '../../src/refresh/index.js'
import type { RefreshClaims } from '../../src/stores/coordination.js'
import { createRedisChangeLog } from '../../src/stores/redis/change-log.js'
import { createRedisRefreshClaims } from '../../src/stores/redis/refresh-claims.js'
import { until } from '../refresh/helpers.js'
import { FakeClock } from '../support/fake-clock.js'
import { findService } from '../support/services.js'
import { redisFixture } from './redis-helpers.js'

const bin = findService('redis-server')

const config = parseConfig(
  `
upstreams:
  api: { url: "https://api.example/v1" }
routes:
  - { name: items, path: /items/:id, ttl: 10m, refresh: { every: 1m, while: always } }
  - { name: learned, path: /learned/:id, ttl: 10m, refresh: { every: adaptive, min: 10s, max: 10m, while: always } }
`,
  'cistern.yaml',
  {},
)
const items = config.routes[0]!
const learned = config.routes[1]!
const KEY = '/items/1'

/** Which of the claim's calls fail (the Redis server answers; the error is injected after it). */
interface Faults {
  seen?: boolean
  done?: boolean
  release?: boolean
}

/** A store's claims whose chosen calls throw once they have run, as a connection lost mid-reply would. */
function faulty(claims: RefreshClaims, faults: Faults): RefreshClaims & { doneCalls: number } {
  const injected = (what: string) => new Error(`injected: ${what}`)
  const wrapped = {
    doneCalls: 0,
    async seen(key: string) {
      if (faults.seen) throw injected('seen')
      return claims.seen(key)
    },
    async claim(key: string, leaseMs: number, options?: { force?: boolean }) {
      const claim = await claims.claim(key, leaseMs, options)
      if (!claim.claimed) return claim
      return {
        claimed: true as const,
        signal: claim.signal,
        async done(nextInMs: number, seen?: Parameters<typeof claim.done>[1]) {
          wrapped.doneCalls++
          await claim.done(nextInMs, seen)
          if (faults.done) throw injected('done')
        },
        async release() {
          await claim.release()
          if (faults.release) throw injected('release')
        },
      }
    },
  }
  return wrapped
}

/** A host whose upstream answers at once with one version that never changes (or with no route). */
function host(answer: 'refreshed' | 'no-route'): RefreshHost & { calls: number } {
  const copy = { digest: 'v1', fetchedAt: 0, body: Buffer.from('{"id":1}'), headers: {}, tags: [] }
  const h = {
    calls: 0,
    async refreshKey() {
      h.calls++
      if (answer === 'no-route') return { kind: 'no-route' } as RefreshOutcome
      const value = { body: copy.body, headers: [] } as unknown as StoredResponse
      const entry = { digest: copy.digest, fetchedAt: copy.fetchedAt, tags: [] }
      return { kind: 'refreshed', result: { stored: true, value, entry } } as unknown as RefreshOutcome
    },
    peek: async () => copy,
    invalidateTags: async () => 0,
    locate: () => ({ route: items, params: { id: '1' } }),
    keyOfPath: () => KEY,
    listKeys: async () => [],
  }
  return h
}

describe.skipIf(!bin)('a due refresh on a shared coordination whose claim calls fail', () => {
  const redis = redisFixture(bin!)
  const refreshes: Refresh[] = []
  afterEach(async () => {
    for (const refresh of refreshes.splice(0)) await refresh.close(500)
  })

  async function run(faults: Faults, answer: 'refreshed' | 'no-route' = 'refreshed') {
    const clock = new FakeClock()
    const connection = await redis.connect(redis.namespace())
    const claims = faulty(createRedisRefreshClaims(connection, 'instance-0'), faults)
    const errors: string[] = []
    const upstream = host(answer)
    const refresh = createRefresh(config, upstream, {
      now: clock.now,
      timers: clock,
      dbPath: ':memory:',
      coordination: {
        refreshClaims: claims,
        changes: createRedisChangeLog(connection, 'instance-0'),
        healthy: () => connection.healthy(),
      },
      onError: (error, what) => errors.push(`${what}: ${(error as Error).message}`),
    })
    refreshes.push(refresh)
    await refresh.start()
    refresh.scheduler.keep(KEY, items)
    await clock.advance(60_000)
    const lane = () => refresh.scheduler.snapshot().byPriority.normal
    // The claim's calls go to a real server: wait (real time, bounded) for the refresh to end.
    await until(() => (lane().refreshed + lane().failed > 0 ? true : undefined))
    return { lane: lane(), errors, claims, upstream, refresh, clock }
  }

  it('a refresh whose claim fails to be marked done still counts as refreshed, the error reported', async () => {
    const { lane, errors, upstream, refresh, clock } = await run({ done: true })
    expect(upstream.calls).toBe(1)
    expect(lane).toMatchObject({ refreshed: 1, failed: 0 })
    expect(errors).toEqual([expect.stringContaining('injected: done')])
    // Not backed off: next due a period after it started.
    expect(refresh.scheduler.nextRefresh(KEY)).toBe(clock.now() + 60_000)
  })

  it('a key dropped whose claim fails to be released is dropped, the error reported', async () => {
    const { lane, errors, refresh } = await run({ release: true }, 'no-route')
    expect(lane).toMatchObject({ refreshed: 1, failed: 0 })
    expect(refresh.scheduler.nextRefresh(KEY)).toBeUndefined()
    expect(errors).toEqual([expect.stringContaining('injected: release')])
  })

  it("a refresh that cannot read what was seen last runs as this instance's own, and holds the key", async () => {
    const { lane, errors, upstream, claims } = await run({ seen: true })
    expect(upstream.calls).toBe(1)
    expect(lane).toMatchObject({ refreshed: 1, failed: 0 })
    expect(errors).toEqual([expect.stringContaining('injected: seen')])
    // The claim is marked done, so other instances do not refresh the key again until it is due.
    expect(claims.doneCalls).toBe(1)
  })

  it('with the coordination unhealthy, an adaptive key is called at every dispatch, start to start', async () => {
    // As single instances refresh while the server is away; the upstream takes 300 ms of the clock
    // to answer, so the copy each refresh makes is 300 ms younger than the period at the next one.
    const clock = new FakeClock()
    let spent = 0
    const now = () => clock.now() + spent
    const key = '/learned/1'
    let copy = { digest: 'v1', fetchedAt: now(), body: Buffer.from('{"id":1}'), headers: {}, tags: [] }
    const calls: number[] = []
    const upstream: RefreshHost = {
      async refreshKey() {
        calls.push(now())
        spent += 300
        copy = { ...copy, fetchedAt: now() }
        const value = { body: copy.body, headers: [] } as unknown as StoredResponse
        const entry = { digest: copy.digest, fetchedAt: copy.fetchedAt, tags: [] }
        return { kind: 'refreshed', result: { stored: true, value, entry } } as unknown as RefreshOutcome
      },
      peek: async () => copy,
      invalidateTags: async () => 0,
      locate: () => ({ route: learned, params: { id: '1' } }),
      keyOfPath: () => key,
      listKeys: async () => [],
    }
    const connection = await redis.connect(redis.namespace())
    const refresh = createRefresh(config, upstream, {
      now,
      timers: clock,
      dbPath: ':memory:',
      coordination: {
        refreshClaims: createRedisRefreshClaims(connection, 'instance-0'),
        changes: createRedisChangeLog(connection, 'instance-0'),
        healthy: () => false,
      },
    })
    refreshes.push(refresh)
    await refresh.start()
    refresh.scheduler.keep(key, learned)
    for (let t = 0; t < 60 * 60_000; t += 10_000) await clock.advance(10_000)
    expect(calls.length).toBeGreaterThanOrEqual(5)
    const gaps = calls.slice(1).map((at, i) => at - calls[i]!)
    expect(new Set(gaps)).toEqual(new Set([600_000]))
  })
})
