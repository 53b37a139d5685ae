import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseRetryAfter } from '../../src/upstream/health/index.js'
import { parseHttpDate } from '../../src/util/http-date.js'

const now = Date.UTC(2026, 10, 21, 12, 0, 0)

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000)
    expect(parseRetryAfter('0', now)).toBe(0)
    expect(parseRetryAfter(['7', '9'], now)).toBe(7000)
  })

  it('reads all three HTTP-date forms', () => {
    expect(parseRetryAfter('Sat, 21 Nov 2026 12:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Saturday, 21-Nov-26 12:01:00 GMT', now)).toBe(60_000)
    expect(parseRetryAfter('Sat Nov 21 12:00:05 2026', now)).toBe(5000)
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(0) // in the past
  })

  it('gives 0 for a date in the past', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0)
  })

  it('resolves two-digit RFC 850 years to at most 50 years ahead', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37))
    expect(parseHttpDate('Tuesday, 01-Jan-30 00:00:00 GMT', now)).toBe(Date.UTC(2030, 0, 1))
  })

  it('refuses garbage instead of guessing', () => {
    for (const bad of [
      undefined,
      null,
      '',
      '1.5',
      '-1',
      '+3',
      '3s',
      'soon',
      'Jan 1',
      '2026-11-21T12:00:30Z',
      'Sat, 21 Nov 2026 12:00:30',
      'Sat, 31 Feb 2026 12:00:30 GMT',
      'Sat, 21 Nov 2026 25:00:30 GMT',
      'Sat, 21 Foo 2026 12:00:30 GMT',
    ]) {
      expect(parseRetryAfter(bad, now), String(bad)).toBeUndefined()
    }
  })

  it('round-trips any IMF-fixdate toUTCString produces', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400 }), (seconds) => {
        const at = Math.floor(now / 1000) * 1000 + seconds * 1000
        expect(parseRetryAfter(new Date(at).toUTCString(), now)).toBe(at - now)
      }),
      { numRuns: 300 },
    )
  })
})
