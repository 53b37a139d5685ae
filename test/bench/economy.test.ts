import { describe, expect, it } from 'vitest'
import { logGrid, pollingMinimumFor, readThrough } from '../../bench/economy/minimum.js'
import { parseMix, parseWorkload } from '../../bench/economy/workload.js'
import { Catalogue } from '../../examples/sim-upstream/catalogue.js'
import { createRng, subSeed } from '../../examples/sim-upstream/prng.js'
import { runtimeFrom } from '../../examples/sim-upstream/runtime.js'

describe('bench:economy yardsticks', () => {
  it('the poller calls once per interval in which the key is read, and never for a key nobody reads', () => {
    const reads = [0, 1_000, 59_000, 60_000, 61_000, 200_000]
    expect(readThrough({ reads, changes: [] }, 60_000)).toEqual({ calls: 3, staleMs: 0 })
    expect(readThrough({ reads: [], changes: [5] }, 60_000)).toEqual({ calls: 0, staleMs: 0 })
  })

  it('a read is as stale as the first change its copy lacks is old', () => {
    // Fetched at 0; the data changes at 10 s; reads at 30 s and 50 s lack it (20 s and 40 s stale);
    // the read at 70 s fetches again.
    expect(readThrough({ reads: [0, 30_000, 50_000, 70_000], changes: [10_000] }, 60_000)).toEqual({
      calls: 2,
      staleMs: 60_000,
    })
  })

  it('charges each key the calls at the longest interval that serves it as fresh as cistern did', () => {
    const trace = { reads: Array.from({ length: 60 }, (_, i) => i * 10_000), changes: [95_000, 305_000] }
    const grid = [10_000, 60_000, 600_000]
    // As fresh as the poller at 60 s: charged its calls at 60 s (10 of them), not at 10 s.
    const at60 = readThrough(trace, 60_000)
    expect(pollingMinimumFor([{ trace, reachedStaleMs: at60.staleMs }], grid)).toEqual({
      calls: at60.calls,
      keysBelowMin: 0,
    })
    // Fresher than the poller can be at 10 s: charged its calls at 10 s, and counted.
    expect(pollingMinimumFor([{ trace, reachedStaleMs: -1 }], grid)).toEqual({ calls: 60, keysBelowMin: 1 })
  })

  it('the grid runs from min to max on a log scale', () => {
    expect(logGrid(10_000, 640_000, 7)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000])
  })

  it('options: a seed and a change-rate mix, refused with a clear message when malformed', () => {
    const w = parseWorkload(['--seed', '7', '--mix', '30s:1,never:3'])
    expect(w.seed).toBe(7)
    expect(w.classes).toEqual([
      { name: '30s', share: 1, everyMs: 30_000 },
      { name: 'never', share: 3, everyMs: null },
    ])
    expect(() => parseMix('1m')).toThrow('is not interval:share')
    expect(() => parseMix('soon:1')).toThrow('is not a duration')
    expect(() => parseWorkload(['--seed'])).toThrow('--seed needs a value')
    expect(() => parseWorkload(['--rate', '-3'])).toThrow('not a positive number')
  })
})

describe('the simulated catalogue', () => {
  const classes = [
    { name: 'fast', share: 1, everyMs: 60_000 },
    { name: 'never', share: 1, everyMs: null },
  ]

  it('is the same for the same seed, and its truth agrees with itself', () => {
    const a = new Catalogue({ items: 50, classes, seed: 3 }, 0)
    const b = new Catalogue({ items: 50, classes, seed: 3 }, 0)
    for (let id = 0; id < 50; id++) {
      expect(a.changesUntil(id, 3_600_000)).toEqual(b.changesUntil(id, 3_600_000))
      const changes = a.changesUntil(id, 3_600_000)
      if (a.classes[a.classOf(id)]!.everyMs === null) expect(changes).toEqual([])
      for (const [version, at] of changes.entries()) {
        expect(a.versionAt(id, at)).toBe(version + 1)
        expect(a.changeAfter(id, version, 3_600_000)).toBe(at)
      }
    }
  })

  it("version 0 was last modified before the start, from a stream of its own: the change times are the item's stream alone", () => {
    const start = Date.UTC(2026, 0, 5, 12)
    const seed = 9
    const catalogue = new Catalogue({ items: 200, classes, seed }, start)
    const rt = runtimeFrom({})
    const fastAges: number[] = []
    for (let id = 0; id < 200; id++) {
      const every = catalogue.classes[catalogue.classOf(id)]!.everyMs
      // The change times after the start: exponential gaps from the item's own stream, as before.
      const rng = createRng(subSeed(seed, `item:${id}`))
      const expected: number[] = []
      for (let at = start; every !== null; ) {
        at += -Math.log(1 - rng.next()) * every
        if (at > start + 3_600_000) break
        expected.push(at)
      }
      expect(catalogue.changesUntil(id, start + 3_600_000)).toEqual(expected)
      const first = catalogue.answer(id, start, {}, rt)
      const age = start - first.lastModifiedMs!
      expect(age).toBeGreaterThan(0)
      if (every === null) {
        expect(age).toBeGreaterThanOrEqual(30 * 86_400_000)
        expect(age).toBeLessThanOrEqual(365 * 86_400_000)
      } else fastAges.push(age)
    }
    // The time back to the last change is exponential at the class's mean (a minute here).
    const mean = fastAges.reduce((a, b) => a + b, 0) / fastAges.length
    expect(mean).toBeGreaterThan(40_000)
    expect(mean).toBeLessThan(80_000)
  })

  it('counts bodies against the change minimum: a 304 for a matching ETag, a body once per version', () => {
    const catalogue = new Catalogue({ items: 1, classes: [classes[0]!], seed: 1 }, 0)
    const rt = runtimeFrom({})
    const first = catalogue.answer(0, 0, {}, rt)
    catalogue.answer(0, 0, { 'if-none-match': first.etag }, rt)
    catalogue.answer(0, 0, {}, rt) // a second body of the same version: over the minimum
    expect(catalogue.stats()).toMatchObject({
      answered: 3,
      bodies: 2,
      notModified: 1,
      bodyBytes: 2 * first.body.length,
      changeMinimumBytes: first.body.length,
    })
  })
})
