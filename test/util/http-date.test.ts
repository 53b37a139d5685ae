import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { strongLastModified } from '../../src/gateway/fetch/upstream-factory.js'
import type { StoredResponse } from '../../src/gateway/response/stored-response.js'
import { notModifiedFor } from '../../src/gateway/response/write-cached.js'
import { currentHttpDate, formatHttpDate, parseHttpDate } from '../../src/util/http-date.js'

const NOV_6 = Date.UTC(1994, 10, 6, 8, 49, 37)

describe('HTTP-dates', () => {
  it('reads the three forms RFC 9110 §5.6.7 asks recipients to accept', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(NOV_6)
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1))).toBe(NOV_6)
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(NOV_6)
    expect(parseHttpDate('  Sun, 06 Nov 1994 08:49:37 GMT ')).toBe(NOV_6)
  })

  it('refuses what Date.parse would guess at', () => {
    for (const text of [
      '1',
      '2024-01-01',
      '2024-01-01T00:00:00Z',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'yesterday',
    ]) {
      expect(parseHttpDate(text), text).toBeUndefined()
    }
  })

  it('writes IMF-fixdate, which it reads back', () => {
    expect(formatHttpDate(NOV_6)).toBe('Sun, 06 Nov 1994 08:49:37 GMT')
    expect(parseHttpDate(currentHttpDate())).toBeLessThanOrEqual(Date.now())
  })

  it('a Last-Modified or If-Modified-Since that is not an HTTP-date is ignored, not guessed', () => {
    expect(strongLastModified('2024-01-01', Date.UTC(2025, 0, 1))).toBeUndefined()
    expect(strongLastModified('Mon, 01 Jan 2024 00:00:00 GMT', Date.UTC(2025, 0, 1))).toBe(
      'Mon, 01 Jan 2024 00:00:00 GMT',
    )
    const stored = { lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' } as StoredResponse
    const asking = (since: string) =>
      ({ headers: { 'if-modified-since': since } }) as unknown as IncomingMessage
    expect(notModifiedFor(asking('2025-01-01'), stored)).toBe(false)
    expect(notModifiedFor(asking('Wednesday, 01-Jan-25 00:00:00 GMT'), stored)).toBe(true)
  })
})
