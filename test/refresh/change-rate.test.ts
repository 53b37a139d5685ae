import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type ChangeRate,
  GROWTH,
  initialRate,
  observe,
  parseRate,
  TARGET_CHANGE_SHARE,
} from '../../src/refresh/change-rate.js'

const bounds = { min: 10_000, max: 600_000 }

/** Refresh a key whose data changes as a Poisson process (mean `everyMs`) for `refreshes` refreshes. */
function follow(
  everyMs: number,
  refreshes: number,
  seed = 12_345,
  start = initialRate(bounds),
): { rate: ChangeRate; intervals: number[] } {
  let state = seed
  const random = () => {
    state = (state * 16807) % 2147483647
    return state / 2147483647
  }
  let rate = start
  let nextChange = -Math.log(random()) * everyMs
  let at = 0
  const intervals: number[] = []
  for (let i = 0; i < refreshes; i++) {
    at += rate.intervalMs
    let changed = false
    while (nextChange <= at) {
      changed = true
      nextChange += -Math.log(random()) * everyMs
    }
    rate = observe(rate, { changed, elapsedMs: rate.intervalMs }, bounds)
    intervals.push(rate.intervalMs)
  }
  return { rate, intervals }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length

describe('the change-rate estimator', () => {
  it('a new key starts at max', () => {
    expect(initialRate(bounds)).toEqual({
      intervalMs: 600_000,
      refreshes: 0,
      changes: 0,
      meanIntervalMs: 600_000,
    })
  })

  it("a key whose data's age is known starts at that age, within min and max", () => {
    // The age is one exponential sample of 1/λ; λ is taken where an age this short happens one time
    // in four, so the interval −ln(1 − TARGET) / λ is the age itself.
    const age = 40_000
    const lambdaLow = -Math.log(1 - TARGET_CHANGE_SHARE) / age
    expect(initialRate(bounds, age)).toEqual({
      intervalMs: Math.round(-Math.log(1 - TARGET_CHANGE_SHARE) / lambdaLow),
      refreshes: 0,
      changes: 0,
      meanIntervalMs: 40_000,
    })
    expect(initialRate(bounds, 0).intervalMs).toBe(bounds.min)
    expect(initialRate(bounds, 3_000).intervalMs).toBe(bounds.min)
    expect(initialRate(bounds, 2 * 86_400_000).intervalMs).toBe(bounds.max)
    // No age, or one that says nothing (a Last-Modified ahead of the clock): max, as without one.
    for (const age of [undefined, -5_000, Number.NaN, Number.POSITIVE_INFINITY])
      expect(initialRate(bounds, age)).toEqual(initialRate(bounds))
  })

  it('a key started from a recent age follows a fast change rate from its first refresh', () => {
    // Data changing every minute, fetched 50 s after its last change: no 10-minute first interval.
    const { intervals } = follow(60_000, 12, 12_345, initialRate(bounds, 50_000))
    expect(intervals.slice(3).every((ms) => ms < 60_000)).toBe(true)
    const fromMax = follow(60_000, 12)
    const elapsed = (list: number[]) => list.slice(0, 6).reduce((a, b) => a + b, 0)
    expect(elapsed(intervals)).toBeLessThan(elapsed(fromMax.intervals))
  })

  it('a slow key that showed a short age grows back to max, doubling per quiet refresh', () => {
    // A 6-hourly key fetched 15 s after a change: about log2(max / 15 s) quiet refreshes to max.
    const { intervals } = follow(Number.POSITIVE_INFINITY, 8, 1, initialRate(bounds, 15_000))
    expect(intervals).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000])
  })

  it('a key that never changes stays at max', () => {
    expect(follow(Number.POSITIVE_INFINITY, 50).intervals.every((ms) => ms === bounds.max)).toBe(true)
  })

  it('a key changing every minute settles where about a quarter of refreshes find a change', () => {
    // The fixed point: P(change within T) = TARGET, so T = 60 s · −ln(1 − TARGET) ≈ 17 s.
    const ideal = -Math.log(1 - TARGET_CHANGE_SHARE) * 60_000
    const settled = follow(60_000, 600).intervals.slice(200)
    expect(mean(settled)).toBeGreaterThan(ideal * 0.6)
    expect(mean(settled)).toBeLessThan(ideal * 1.3)
  })

  it('follows a key that changes every minute within a few refreshes of its first change', () => {
    const { intervals } = follow(60_000, 12)
    expect(intervals[0]).toBeLessThan(bounds.max) // the first refresh (after max) saw a change
    expect(intervals.slice(6).every((ms) => ms < 60_000)).toBe(true)
  })

  it('a rarely changing key stays near max', () => {
    expect(mean(follow(6 * 3_600_000, 100).intervals)).toBeGreaterThan(bounds.max * 0.9)
  })

  it('stays within min and max, grows at most GROWTH× per refresh, and keeps a consistent record', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ changed: fc.boolean(), elapsedMs: fc.integer({ min: 0, max: 3_600_000 }) }), {
          maxLength: 60,
        }),
        fc.option(fc.integer({ min: -60_000, max: 30 * 86_400_000 }), { nil: undefined }),
        (findings, dataAgeMs) => {
          let rate = initialRate(bounds, dataAgeMs)
          expect(parseRate(JSON.parse(JSON.stringify(rate)), bounds)).toEqual(rate)
          for (const finding of findings) {
            const next = observe(rate, finding, bounds)
            expect(next.intervalMs).toBeGreaterThanOrEqual(bounds.min)
            expect(next.intervalMs).toBeLessThanOrEqual(bounds.max)
            expect(next.intervalMs).toBeLessThanOrEqual(Math.max(bounds.min, rate.intervalMs * GROWTH))
            expect(next.changes).toBeLessThanOrEqual(next.refreshes)
            expect(Number.isFinite(next.meanIntervalMs) && next.meanIntervalMs > 0).toBe(true)
            // Serialisable: a schedule store keeps it as JSON and reads it back unchanged.
            expect(parseRate(JSON.parse(JSON.stringify(next)), bounds)).toEqual(next)
            rate = next
          }
        },
      ),
    )
  })

  it('a finding of a change never lengthens the interval; one of no change never shortens it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 30 }),
        fc.integer({ min: 1_000, max: 1_200_000 }),
        (history, elapsedMs) => {
          let rate = initialRate(bounds)
          for (const changed of history) rate = observe(rate, { changed, elapsedMs: rate.intervalMs }, bounds)
          const changed = observe(rate, { changed: true, elapsedMs }, bounds)
          const unchanged = observe(rate, { changed: false, elapsedMs }, bounds)
          expect(changed.intervalMs).toBeLessThanOrEqual(unchanged.intervalMs)
        },
      ),
    )
  })

  it('does not modify the record it is given', () => {
    const rate = initialRate(bounds)
    const copy = { ...rate }
    observe(rate, { changed: true, elapsedMs: 60_000 }, bounds)
    expect(rate).toEqual(copy)
  })

  it('reads back only a well-formed record, re-bounded', () => {
    expect(parseRate(undefined, bounds)).toBeUndefined()
    expect(parseRate('x', bounds)).toBeUndefined()
    expect(parseRate({ intervalMs: 5, refreshes: 1, changes: 2, meanIntervalMs: 5 }, bounds)).toBeUndefined()
    expect(
      parseRate({ intervalMs: Number.NaN, refreshes: 1, changes: 0, meanIntervalMs: 5 }, bounds),
    ).toBeUndefined()
    expect(
      parseRate({ intervalMs: 5, refreshes: 1, changes: 0, meanIntervalMs: 5 }, bounds)?.intervalMs,
    ).toBe(10_000)
  })
})
