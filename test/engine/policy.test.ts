import { describe, expect, it } from 'vitest'
import {
  ageOf,
  computeWindows,
  isExpired,
  isFresh,
  isServableOnError,
  isServableStale,
  jitteredTtl,
  softPurge,
  ttlLeft,
} from '../../src/model/index.js'

const windows = { freshUntil: 1000, staleUntil: 2000, expiresAt: 3000 }

describe('freshness policy', () => {
  it('is fresh strictly before freshUntil', () => {
    expect(isFresh(windows, 999)).toBe(true)
    expect(isFresh(windows, 1000)).toBe(false)
  })

  it('is servable stale from freshUntil until staleUntil (exclusive)', () => {
    expect(isServableStale(windows, 999)).toBe(false)
    expect(isServableStale(windows, 1000)).toBe(true)
    expect(isServableStale(windows, 1999)).toBe(true)
    expect(isServableStale(windows, 2000)).toBe(false)
  })

  it('is kept for errors until expiresAt, then expired', () => {
    expect(isServableOnError(windows, 2999)).toBe(true)
    expect(isExpired(windows, 2999)).toBe(false)
    expect(isServableOnError(windows, 3000)).toBe(false)
    expect(isExpired(windows, 3000)).toBe(true)
  })

  it('computes age from fetchedAt and never goes negative', () => {
    expect(ageOf({ fetchedAt: 500 }, 1500)).toBe(1000)
    expect(ageOf({ fetchedAt: 500 }, 100)).toBe(0)
    expect(ttlLeft({ freshUntil: 1000 }, 400)).toBe(600)
    expect(ttlLeft({ freshUntil: 1000 }, 4000)).toBe(0)
  })
})

describe('windows', () => {
  it('stacks ttl, stale and staleIfError from fetchedAt', () => {
    const w = computeWindows(10_000, { ttl: 100, stale: 50, staleIfError: 500, jitter: 0 })
    expect(w).toEqual({ freshUntil: 10_100, staleUntil: 10_150, expiresAt: 10_600 })
  })

  it('keeps the stale window when staleIfError is shorter', () => {
    const w = computeWindows(0, { ttl: 100, stale: 500, staleIfError: 10, jitter: 0 })
    expect(w.expiresAt).toBe(600)
  })

  it('jitter only shortens the ttl, by at most its share', () => {
    expect(jitteredTtl(1000, 0.1, () => 0)).toBe(1000)
    expect(jitteredTtl(1000, 0.1, () => 0.999999)).toBe(900)
    expect(jitteredTtl(1000, 0, () => 0.5)).toBe(1000)
    for (let i = 0; i < 200; i++) {
      const ttl = jitteredTtl(60_000, 0.2)
      expect(ttl).toBeGreaterThanOrEqual(48_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    }
  })
})

describe('softPurge', () => {
  it('ends freshness now and keeps the stale window', () => {
    const purged = softPurge(windows, 500)
    expect(purged).toEqual({ freshUntil: 500, staleUntil: 2000, expiresAt: 3000 })
    expect(isServableStale(purged, 500)).toBe(true)
  })

  it('leaves an already stale entry alone', () => {
    expect(softPurge(windows, 1500)).toBe(windows)
  })

  it('grants a minimum stale window so a soft purge is never a hard one', () => {
    const tight = { freshUntil: 1000, staleUntil: 1000, expiresAt: 1000 }
    const purged = softPurge(tight, 900, 60_000)
    expect(purged.staleUntil).toBe(60_900)
    expect(purged.expiresAt).toBe(60_900)
  })
})
