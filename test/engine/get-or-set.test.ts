import { describe, expect, it, vi } from 'vitest'
import type { FactoryContext } from '../../src/engine/index.js'
import { FactoryError, TimeoutError } from '../../src/util/errors.js'
import { cacheWithClock, deferred, flush } from './helpers.js'

describe('getOrSet', () => {
  it('misses once, then hits from memory with age and fetchedAt', async () => {
    const { cache, clock } = cacheWithClock<{ n: number }>()
    const factory = vi.fn(() => ({ n: 1 }))
    const first = await cache.getOrSet('k', factory, { ttl: '1m' })
    expect(first).toMatchObject({ value: { n: 1 }, status: 'miss', age: 0, fetchedAt: clock.now() })
    clock.advance(5000)
    const second = await cache.getOrSet('k', factory, { ttl: '1m' })
    expect(second).toMatchObject({ value: { n: 1 }, status: 'hit', age: 5000 })
    expect(factory).toHaveBeenCalledTimes(1)
  })

  it('says the unit: ageMs is milliseconds (HTTP Age is seconds); age stays as its deprecated alias', async () => {
    const { cache, clock } = cacheWithClock<number>()
    await cache.getOrSet('k', () => 1, { ttl: '1h' })
    clock.advance(90_500)
    const result = await cache.getOrSet('k', () => 2, { ttl: '1h' })
    expect(result.ageMs).toBe(90_500)
    expect(Math.floor(result.ageMs / 1000)).toBe(90)
    expect(result.age).toBe(result.ageMs)
  })

  it('runs the factory exactly once for 10,000 concurrent callers of one missing key', async () => {
    const { cache } = cacheWithClock<string>()
    const gate = deferred<string>()
    const factory = vi.fn(() => gate.promise)
    const calls = Array.from({ length: 10_000 }, () => cache.getOrSet('hot', factory, { ttl: 60_000 }))
    await flush()
    gate.resolve('value')
    const results = await Promise.all(calls)
    expect(factory).toHaveBeenCalledTimes(1)
    expect(results.every((r) => r.value === 'value' && r.status === 'miss')).toBe(true)
    expect(results.filter((r) => !r.collapsed)).toHaveLength(1)
  })

  it('serves a stale entry at once and refreshes it exactly once in the background', async () => {
    const { cache, clock } = cacheWithClock<number>()
    await cache.getOrSet('k', () => 1, { ttl: 1000, stale: 10_000 })
    clock.advance(1500)
    const gate = deferred<number>()
    const refresh = vi.fn((_ctx: FactoryContext<number>) => gate.promise)
    const readers = await Promise.all(
      Array.from({ length: 50 }, () => cache.getOrSet('k', refresh, { ttl: 1000, stale: 10_000 })),
    )
    expect(readers.every((r) => r.status === 'stale' && r.value === 1 && r.age === 1500)).toBe(true)
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(refresh.mock.calls[0]![0].lane).toBe('background')
    gate.resolve(2)
    await flush()
    const after = await cache.getOrSet('k', refresh, { ttl: 1000, stale: 10_000 })
    expect(after).toMatchObject({ status: 'hit', value: 2, age: 0 })
    expect(refresh).toHaveBeenCalledTimes(1)
  })

  it('serves the kept copy as error-stale when the factory throws', async () => {
    const { cache, clock } = cacheWithClock<string>()
    await cache.getOrSet('k', () => 'old', { ttl: 1000, staleIfError: '1h' })
    clock.advance(2000)
    const failing = vi.fn(() => {
      throw new Error('upstream 503')
    })
    const result = await cache.getOrSet('k', failing, { ttl: 1000, staleIfError: '1h' })
    expect(result).toMatchObject({ status: 'error-stale', value: 'old', age: 2000 })
    expect(failing).toHaveBeenCalledTimes(1)
  })

  it('throws a typed FactoryError when no copy can stand in', async () => {
    const { cache } = cacheWithClock<string>()
    const error = await cache
      .getOrSet('k', () => Promise.reject(new Error('boom')), { ttl: 1000 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FactoryError)
    expect(error).toMatchObject({ code: 'E_FACTORY', key: 'k' })
    expect((error as Error).message).toContain('boom')
  })

  it('past expiresAt nothing is served, even on error', async () => {
    const { cache, clock } = cacheWithClock<string>()
    await cache.getOrSet('k', () => 'old', { ttl: 1000, staleIfError: 1000 })
    clock.advance(2001)
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('x')), { ttl: 1000 })).rejects.toThrow(
      FactoryError,
    )
  })

  it('soft timeout answers the kept copy while the fetch goes on and fills the cache', async () => {
    const { cache, clock } = cacheWithClock<string>()
    await cache.getOrSet('k', () => 'old', { ttl: 1000, staleIfError: '1h' })
    clock.advance(5000)
    const gate = deferred<string>()
    const slow = vi.fn(() => gate.promise)
    const result = await cache.getOrSet('k', slow, { ttl: 1000, staleIfError: '1h', timeout: 20 })
    expect(result).toMatchObject({ status: 'stale', value: 'old' })
    gate.resolve('new')
    await flush()
    expect(await cache.getOrSet('k', slow, { ttl: 1000 })).toMatchObject({ status: 'hit', value: 'new' })
    expect(slow).toHaveBeenCalledTimes(1)
  })

  it('hard timeout aborts the factory and throws TimeoutError without a copy', async () => {
    const { cache } = cacheWithClock<string>()
    let signal: AbortSignal | undefined
    const error = await cache
      .getOrSet(
        'k',
        (ctx) => {
          signal = ctx.signal
          return new Promise<string>(() => {})
        },
        { hardTimeout: 30 },
      )
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(signal?.aborted).toBe(true)
  })

  it('hard timeout with a copy answers error-stale', async () => {
    const { cache, clock } = cacheWithClock<string>()
    await cache.getOrSet('k', () => 'old', { ttl: 10, staleIfError: '1h' })
    clock.advance(100)
    const result = await cache.getOrSet('k', () => new Promise<string>(() => {}), { hardTimeout: 20 })
    expect(result).toMatchObject({ status: 'error-stale', value: 'old' })
  })

  it('notModified() keeps the value and restarts freshness (revalidated)', async () => {
    const { cache, clock } = cacheWithClock<string>()
    await cache.getOrSet(
      'k',
      (ctx) => {
        ctx.setOptions({ etag: '"v1"' })
        return 'body'
      },
      { ttl: 1000 },
    )
    clock.advance(2000)
    const result = await cache.getOrSet(
      'k',
      (ctx) => {
        expect(ctx.previous?.entry.etag).toBe('"v1"')
        return ctx.notModified()
      },
      { ttl: 1000 },
    )
    expect(result).toMatchObject({ status: 'revalidated', value: 'body', age: 0 })
    expect(result.entry.freshUntil).toBe(clock.now() + 1000)
    expect(result.entry.etag).toBe('"v1"')
  })

  it('forceRefresh asks the source even when fresh', async () => {
    const { cache } = cacheWithClock<number>()
    await cache.getOrSet('k', () => 1, { ttl: '1h' })
    const result = await cache.getOrSet('k', () => 2, { ttl: '1h', forceRefresh: true })
    expect(result).toMatchObject({ status: 'miss', value: 2 })
  })

  it('factory-set options override the call (ttl from the source)', async () => {
    const { cache, clock } = cacheWithClock<number>()
    const r = await cache.getOrSet(
      'k',
      (ctx) => {
        ctx.setOptions({ ttl: '10s', tags: ['extra'] })
        return 1
      },
      {
        ttl: '1h',
        tags: ['base'],
      },
    )
    expect(r.entry.freshUntil).toBe(clock.now() + 10_000)
    expect(r.entry.tags.sort()).toEqual(['base', 'extra'])
  })

  it('doNotStore() answers without caching', async () => {
    const { cache } = cacheWithClock<number>()
    await cache.getOrSet('k', (ctx) => {
      ctx.doNotStore()
      return 1
    })
    expect(await cache.get('k')).toBeUndefined()
  })
})

describe('refresh', () => {
  it('asks the source in the background lane even when fresh, conditionally, and joins a running fetch', async () => {
    const { cache } = cacheWithClock<string>()
    await cache.getOrSet('k', () => 'v1', { ttl: '1h' })
    const lanes: string[] = []
    const r = await cache.refresh(
      'k',
      (ctx) => {
        lanes.push(ctx.lane)
        return ctx.previous?.value === 'v1' ? ctx.notModified() : 'other'
      },
      { ttl: '1h' },
    )
    expect(r.status).toBe('revalidated')
    expect(lanes).toEqual(['background'])
    const gate = deferred<string>()
    const slow = vi.fn(() => gate.promise)
    const a = cache.refresh('k', slow, { ttl: '1h' })
    const b = cache.refresh('k', slow, { ttl: '1h' })
    gate.resolve('v2')
    expect((await a).value).toBe('v2')
    expect((await b).collapsed).toBe(true)
    expect(slow).toHaveBeenCalledTimes(1)
  })
})
