import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CisternError } from '../../src/util/errors.js'
import { parseDuration, parseRate, parseSize, UnitError } from '../../src/util/units.js'

const DURATION_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const
const SIZE_BYTES = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 } as const
type DurationUnit = keyof typeof DURATION_MS
type SizeUnit = keyof typeof SIZE_BYTES

// Reference grammars, written independently of src/util/units.ts.
const DURATION_REF = /^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+)$/
const SIZE_REF = /^\d+(?:\.\d+)?\s*(?:[kmg]i?b|b)$/i
const RATE_REF = /^(\d+(?:\.\d+)?)\s*\/\s*(?:ms|s|m|h|d|\d+(?:ms|s|m|h|d))$/

const durationUnit = fc.constantFrom(...(Object.keys(DURATION_MS) as DurationUnit[]))
const sizeUnit = fc.constantFrom(...(Object.keys(SIZE_BYTES) as SizeUnit[]))
const randomCase = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) => [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''))

function rejects(run: () => unknown, code: string): boolean {
  try {
    run()
    return false
  } catch (error) {
    return error instanceof CisternError && error.code === code
  }
}

describe('parseDuration', () => {
  it('sums any sequence of whole-number parts', () => {
    const part = fc.record({ n: fc.nat(100_000), unit: durationUnit })
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(({ n, unit }) => `${n}${unit}`).join('')
        const expected = parts.reduce((sum, { n, unit }) => sum + n * DURATION_MS[unit], 0)
        expect(parseDuration(text)).toBe(expected)
        expect(parseDuration(` ${text}\t`)).toBe(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('rounds decimal parts to whole milliseconds', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(999), durationUnit, (whole, fraction, unit) => {
        const text = `${whole}.${fraction}${unit}`
        expect(parseDuration(text)).toBe(Math.round(Number(`${whole}.${fraction}`) * DURATION_MS[unit]))
      }),
    )
  })

  it('takes non-negative finite numbers as milliseconds and refuses the rest', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1e15, noNaN: true }), (ms) => parseDuration(ms) === ms))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ max: -Number.MIN_VALUE }),
          fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
        ),
        (bad) => rejects(() => parseDuration(bad), 'E_INVALID_DURATION'),
      ),
    )
  })

  it('refuses every string outside the grammar', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !DURATION_REF.test(s.trim())),
        (garbage) => rejects(() => parseDuration(garbage), 'E_INVALID_DURATION'),
      ),
      { numRuns: 1000 },
    )
  })

  it('refuses near misses', () => {
    const nearMiss = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 9999 }), durationUnit).map(([n, u]) => `${n} ${u}`),
      fc.tuple(fc.integer({ min: 1, max: 9999 }), durationUnit).map(([n, u]) => `-${n}${u}`),
      fc.tuple(fc.integer({ min: 1, max: 9999 }), durationUnit).map(([n, u]) => `${n}${u.toUpperCase()}x`),
      fc.integer({ min: 1, max: 9999 }).map((n) => `${n}`),
      fc.integer({ min: 1, max: 9999 }).map((n) => `${n} minutes`),
      fc.tuple(fc.nat(99), fc.nat(99), durationUnit).map(([a, b, u]) => `${a}.${b}.1${u}`),
    )
    fc.assert(fc.property(nearMiss, (text) => rejects(() => parseDuration(text), 'E_INVALID_DURATION')))
  })
})

describe('parseSize', () => {
  it('multiplies a number by its unit, whatever the case and spacing', () => {
    fc.assert(
      fc.property(
        fc.nat(100_000),
        sizeUnit.chain((unit) => randomCase(unit).map((text) => ({ unit, text }))),
        fc.constantFrom('', ' '),
        (n, { unit, text }, space) => {
          expect(parseSize(`${n}${space}${text}`)).toBe(Math.floor(n * SIZE_BYTES[unit]))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('takes non-negative integers as bytes and refuses other numbers', () => {
    fc.assert(fc.property(fc.nat(), (bytes) => parseSize(bytes) === bytes))
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ max: -1 }), fc.double({ min: 0.001, max: 1e6, noInteger: true, noNaN: true })),
        (bad) => rejects(() => parseSize(bad), 'E_INVALID_SIZE'),
      ),
    )
  })

  it('refuses every string outside the grammar', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !SIZE_REF.test(s.trim())),
        (garbage) => rejects(() => parseSize(garbage), 'E_INVALID_SIZE'),
      ),
      { numRuns: 1000 },
    )
    for (const bad of ['64', 'MB', '64 M', '1.5.2MB', '-1KB', '1TB', '64 megabytes']) {
      expect(
        rejects(() => parseSize(bad), 'E_INVALID_SIZE'),
        bad,
      ).toBe(true)
    }
  })
})

describe('parseRate', () => {
  const rateUnit = fc.constantFrom('ms', 's', 'm', 'h', 'd' as const)

  it('reads count per unit and count per multiple of a unit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
        rateUnit,
        fc.constantFrom('', ' '),
        (count, multiple, unit, space) => {
          const text = `${count}${space}/${space}${multiple ?? ''}${unit}`
          const perMs = (multiple ?? 1) * DURATION_MS[unit as DurationUnit]
          expect(parseRate(text)).toEqual({ count, perMs })
        },
      ),
      { numRuns: 500 },
    )
  })

  it('refuses zero counts and every string outside the grammar', () => {
    fc.assert(fc.property(rateUnit, (unit) => rejects(() => parseRate(`0/${unit}`), 'E_INVALID_RATE')))
    fc.assert(
      fc.property(
        fc.string().filter((s) => !RATE_REF.test(s.trim())),
        (garbage) => rejects(() => parseRate(garbage), 'E_INVALID_RATE'),
      ),
      { numRuns: 1000 },
    )
    for (const bad of ['10', '10/', '/s', '10/sec', '10 per second', '10/w', '-1/s', '1/1.5s']) {
      expect(
        rejects(() => parseRate(bad), 'E_INVALID_RATE'),
        bad,
      ).toBe(true)
    }
  })
})

describe('magnitudes the units cannot represent', () => {
  it('refuses durations and sizes beyond exact integers, and rates that limit nothing', () => {
    const big = '9'.repeat(30)
    expect(() => parseDuration(`${big}s`, 'ttl')).toThrow(/^ttl: ".*" is too long a duration$/)
    expect(() => parseSize(`${big}MB`)).toThrow(UnitError)
    for (const rate of [
      '1/0s',
      '0/s',
      `${big}${big}${big}${big}${big}${big}${big}${big}${big}${big}${big}/ms`,
    ]) {
      let caught: unknown
      try {
        parseRate(rate)
      } catch (error) {
        caught = error
      }
      expect(caught, rate).toBeInstanceOf(UnitError)
      expect((caught as UnitError).problem, rate).toBe('range')
    }
    expect(
      (() => {
        try {
          parseDuration('5 minutes')
        } catch (e) {
          return (e as UnitError).problem
        }
      })(),
    ).toBe('syntax')
  })
})
