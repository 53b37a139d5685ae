import { describe, expect, it } from 'vitest'
import { cacheControlOf, parseCacheControl } from '../../src/util/cache-control.js'

describe('parseCacheControl', () => {
  it('reads names case-insensitively and unquotes values', () => {
    const d = parseCacheControl('Max-Age=60, S-MAXAGE="120", no-cache, stale-while-revalidate = 30')
    expect([...d]).toEqual([
      ['max-age', '60'],
      ['s-maxage', '120'],
      ['no-cache', ''],
      ['stale-while-revalidate', '30'],
    ])
  })

  it('keeps commas and escapes inside a quoted value together', () => {
    const d = parseCacheControl('private="set-cookie, x-id", max-age=5, x-ext="a\\"b"')
    expect(d.get('private')).toBe('set-cookie, x-id')
    expect(d.get('max-age')).toBe('5')
    expect(d.get('x-ext')).toBe('a"b')
    expect(d.has('x-id"')).toBe(false)
  })

  it('joins repeated fields, however the headers are held', () => {
    expect([...cacheControlOf({ 'cache-control': ['public', 'max-age=9'] })]).toEqual([
      ['public', ''],
      ['max-age', '9'],
    ])
    expect(cacheControlOf({ 'Cache-Control': 'no-store' }).has('no-store')).toBe(true)
    expect(cacheControlOf(new Headers({ 'cache-control': 'max-age=3' })).get('max-age')).toBe('3')
    expect(cacheControlOf({}).size).toBe(0)
  })

  it('keeps the first of a repeated directive (RFC 9111 §4.2.1), across repeated fields too', () => {
    expect(parseCacheControl('max-age=1800, max-age=1').get('max-age')).toBe('1800')
    expect(cacheControlOf({ 'cache-control': ['max-age=1', 'max-age=1800'] }).get('max-age')).toBe('1')
  })

  it('skips empty members', () => {
    expect([...parseCacheControl(' , ,no-store,,')]).toEqual([['no-store', '']])
  })
})
