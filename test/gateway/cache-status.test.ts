import { describe, expect, it } from 'vitest'
import { cacheStatusHeader } from '../../src/gateway/response/cache-status.js'

describe('Cache-Status (RFC 9211)', () => {
  it('writes hits with ttl and key', () => {
    expect(cacheStatusHeader({ outcome: 'hit', ttl: 42, key: '/a?b=1' })).toBe(
      'cistern; hit; ttl=42; key="/a?b=1"',
    )
  })

  it('writes forwards with status, stored and collapsed', () => {
    expect(
      cacheStatusHeader({ outcome: 'uri-miss', fwdStatus: 200, ttl: 60, stored: true, collapsed: true }),
    ).toBe('cistern; fwd=uri-miss; fwd-status=200; ttl=60; stored; collapsed')
    expect(cacheStatusHeader({ outcome: 'stale', fwdStatus: 503, detail: 'unavailable' })).toBe(
      'cistern; fwd=stale; fwd-status=503; detail="unavailable"',
    )
  })

  it('escapes quotes and backslashes and replaces non-ASCII in sf-strings', () => {
    expect(cacheStatusHeader({ outcome: 'hit', key: 'a"b\\c' })).toBe('cistern; hit; key="a\\"b\\\\c"')
    expect(cacheStatusHeader({ outcome: 'hit', key: '/é' })).toBe('cistern; hit; key="/?"')
  })
})
