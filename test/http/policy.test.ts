import { describe, expect, it } from 'vitest'
import {
  ageValue,
  deltaSeconds,
  httpFreshness,
  requestDirectives,
  responseDirectives,
  satisfies,
} from '../../src/gateway/fetch/http-freshness.js'

/** The policy functions on their own (the HTTP-level tests in this folder cover them end to end). */
describe('http-freshness: the RFC 9111 policy', () => {
  const NOW = Date.UTC(2026, 0, 1)
  const date = new Date(NOW).toUTCString()

  it('§1.2.2: delta-seconds are digits only, clamped to 2^31', () => {
    expect(deltaSeconds('003600')).toBe(3600)
    expect(deltaSeconds('99999999999')).toBe(2_147_483_648)
    for (const bad of ['-1', '1.5', "'1'", 'a1', '', undefined]) expect(deltaSeconds(bad)).toBeUndefined()
  })

  it('§5.1: Age is the first member of its first line when it is a non-negative integer', () => {
    expect(ageValue({ age: '7200, 0' })).toBe(7200)
    expect(ageValue({ age: ['0', '7200'] })).toBe(0)
    expect(ageValue({ age: '7200.0' })).toBeUndefined()
  })

  it('§4.2.1 / §4.2.3: lifetime minus the initial age; s-maxage first; an invalid Expires is stale', () => {
    const fresh = (headers: Record<string, string>) => httpFreshness({}, 200, { date, ...headers }, 0, NOW)
    expect(fresh({ 'cache-control': 'max-age=100', age: '30' })).toMatchObject({
      ttl: 70_000,
      initialAge: 30,
    })
    expect(fresh({ 'cache-control': 'max-age=100, s-maxage=10' })).toMatchObject({ ttl: 10_000, stale: 0 })
    expect(fresh({ expires: '0' })).toMatchObject({ ttl: 0 })
    expect(fresh({ 'cache-control': 'private, max-age=100' })).toBe('private')
    expect(httpFreshness({ authorization: 'x' }, 200, { 'cache-control': 'max-age=1' }, 0, NOW)).toBe(
      'authorization',
    )
    expect(httpFreshness({}, 201, { date }, 0, NOW)).toBe('status')
  })

  it('RFC 9213: a valid targeted field replaces Cache-Control; an invalid one is ignored', () => {
    expect(
      responseDirectives({ 'cdn-cache-control': 'max-age=5', 'cache-control': 'no-store' }),
    ).toMatchObject({
      targeted: true,
    })
    expect(
      responseDirectives({ 'cdn-cache-control': 'max-age="5"', 'cache-control': 'no-store' }).targeted,
    ).toBe(false)
  })

  it('§5.2.1: max-stale, max-age, min-fresh against age and lifetime', () => {
    const request = (cc: string) => requestDirectives({ 'cache-control': cc })!
    const copy = { age: 50, lifetime: 40, revalidateWhenStale: false }
    expect(satisfies(request('max-stale=20'), copy)).toBe(true)
    expect(satisfies(request('max-stale=5'), copy)).toBe(false)
    expect(satisfies(request('max-stale'), { ...copy, revalidateWhenStale: true })).toBe(false)
    expect(satisfies(request('min-fresh=10'), { age: 10, lifetime: 30, revalidateWhenStale: false })).toBe(
      true,
    )
    expect(satisfies(request('max-age=5'), { age: 10, lifetime: 30, revalidateWhenStale: false })).toBe(false)
    expect(requestDirectives({ 'cache-control': 'foo' })).toBeUndefined()
    expect(requestDirectives({ pragma: 'no-cache' })?.noCache).toBe(true)
  })
})
