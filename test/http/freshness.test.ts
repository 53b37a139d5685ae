import { afterEach, describe, expect, it } from 'vitest'
import { type HttpHarness, startHttpHarness, xcache } from './helpers.js'

/** RFC 9111 §4.2 (freshness), §5.2.2 (response directives), RFC 5861, RFC 9213 (targeted fields). */
describe('RFC 9111 §4.2 / §5.2.2: freshness from the upstream', () => {
  let t: HttpHarness
  afterEach(() => t.close())

  /** Status of a second request after `wait` ms, the first answer carrying `headers`. */
  async function reuse(path: string, headers: [string, string][], wait = 0): Promise<string | null> {
    t.origin.answer(path, () => ({ headers }))
    await t.fetch(path)
    t.clock.advance(wait)
    return xcache(await t.fetch(path))
  }

  it('§5.2.2.1: max-age (directive names case-insensitive, leading zeros, huge values clamped)', async () => {
    t = await startHttpHarness()
    expect(await reuse('/a', [['cache-control', 'MaX-AgE=60']], 59_000)).toBe('HIT')
    expect(await reuse('/b', [['cache-control', 'max-age=60']], 61_000)).not.toBe('HIT')
    expect(await reuse('/c', [['cache-control', 'max-age=003600']])).toBe('HIT')
    expect(await reuse('/d', [['cache-control', 'max-age=99999999999']])).toBe('HIT')
  })

  it('§4.2.1: an invalid max-age (negative, single-quoted, decimal) is stale at once', async () => {
    t = await startHttpHarness()
    expect(await reuse('/n', [['cache-control', 'max-age=-1']])).toBe('MISS')
    expect(await reuse('/q', [['cache-control', "max-age='3600'"]])).toBe('MISS')
    expect(await reuse('/f', [['cache-control', 'max-age=3600.5']])).toBe('MISS')
  })

  it('§5.2: a max-age inside a quoted extension value does not count', async () => {
    t = await startHttpHarness()
    expect(await reuse('/x', [['cache-control', 'extension="max-age=3600", max-age=1']], 2_000)).not.toBe(
      'HIT',
    )
  })

  it('§5.2.2.10: s-maxage wins over max-age for a shared cache, both shorter and longer', async () => {
    t = await startHttpHarness()
    expect(await reuse('/s1', [['cache-control', 'max-age=3600, s-maxage=1']], 2_000)).not.toBe('HIT')
    expect(await reuse('/s2', [['cache-control', 's-maxage=3600, max-age=1']], 2_000)).toBe('HIT')
  })

  it('§5.3: Expires sets freshness; an invalid Expires, or one before Date, is already stale', async () => {
    t = await startHttpHarness()
    const future = new Date(t.clock.now() + 3_600_000)
    expect(await reuse('/e1', [['expires', future.toUTCString()]], 1_000)).toBe('HIT')
    expect(await reuse('/e2', [['expires', '0']])).toBe('MISS')
    expect(await reuse('/e3', [['expires', 'Mon, 01 Jan 2024 00:00:00 UTC']])).toBe('MISS')
    expect(await reuse('/e4', [['expires', new Date(t.clock.now() - 1000).toUTCString()]])).toBe('MISS')
  })

  it('§4.2.3 / §5.1: Age counts against freshness; a malformed Age is ignored; only its first member counts', async () => {
    t = await startHttpHarness()
    expect(
      await reuse('/g1', [
        ['cache-control', 'max-age=3600'],
        ['age', '7200'],
      ]),
    ).toBe('MISS')
    expect(
      await reuse('/g2', [
        ['cache-control', 'max-age=3600'],
        ['age', 'abc'],
      ]),
    ).toBe('HIT')
    expect(
      await reuse('/g3', [
        ['cache-control', 'max-age=3600'],
        ['age', '-7200'],
      ]),
    ).toBe('HIT')
    expect(
      await reuse('/g4', [
        ['cache-control', 'max-age=3600'],
        ['age', '7200, 0'],
      ]),
    ).toBe('MISS')
    expect(
      await reuse('/g5', [
        ['cache-control', 'max-age=3600'],
        ['age', '0, 7200'],
      ]),
    ).toBe('HIT')
    expect(
      await reuse('/g6', [
        ['cache-control', 'max-age=3600'],
        ['age', '2147483648'],
      ]),
    ).toBe('MISS')
  })

  it('§4.2.3: the Age sent is the age received plus the time held', async () => {
    t = await startHttpHarness()
    t.origin.answer('/age', () => ({
      headers: [
        ['cache-control', 'max-age=3600'],
        ['age', '100'],
      ],
    }))
    await t.fetch('/age')
    t.clock.advance(5_000)
    expect((await t.fetch('/age')).headers.get('age')).toBe('105')
  })

  it('§4.2.2: heuristic freshness only for statuses cacheable by default with Last-Modified', async () => {
    t = await startHttpHarness()
    const lastModified = new Date(t.clock.now() - 100_000_000).toUTCString()
    t.origin.answer('/h200', () => ({ headers: [['last-modified', lastModified]] }))
    t.origin.answer('/h201', () => ({ status: 201, headers: [['last-modified', lastModified]] }))
    t.origin.answer('/h404', () => ({ status: 404, headers: [['last-modified', lastModified]] }))
    t.origin.answer('/none', () => ({}))
    for (const path of ['/h200', '/h201', '/h404', '/none']) await t.fetch(path)
    expect(xcache(await t.fetch('/h200'))).toBe('HIT')
    expect(xcache(await t.fetch('/h404'))).toBe('HIT')
    expect(xcache(await t.fetch('/h201'))).toBe('MISS')
    expect(xcache(await t.fetch('/none'))).not.toBe('HIT')
  })

  it('§5.2.2.4: no-cache is stored but revalidated on every use', async () => {
    t = await startHttpHarness()
    t.origin.answer('/nc', (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: [['etag', '"v1"']] }
        : {
            headers: [
              ['cache-control', 'no-cache, max-age=3600'],
              ['etag', '"v1"'],
            ],
          },
    )
    await t.fetch('/nc')
    const second = await t.fetch('/nc')
    expect(xcache(second)).toBe('REVALIDATED')
    expect(t.origin.seenFor('/nc')[1]!.headers['if-none-match']).toBe('"v1"')
  })

  it('RFC 5861: stale-while-revalidate serves stale within its window, then not', async () => {
    t = await startHttpHarness()
    t.origin.answer('/swr', () => ({ headers: [['cache-control', 'max-age=1, stale-while-revalidate=60']] }))
    await t.fetch('/swr')
    t.clock.advance(2_000)
    expect(xcache(await t.fetch('/swr'))).toBe('STALE')
    t.origin.answer('/swr2', () => ({ headers: [['cache-control', 'max-age=1, stale-while-revalidate=5']] }))
    await t.fetch('/swr2')
    t.clock.advance(10_000)
    expect(xcache(await t.fetch('/swr2'))).toBe('MISS')
  })

  it('§5.2.2.2 / §5.2.2.8: must-revalidate and proxy-revalidate forbid serving stale when the upstream fails', async () => {
    t = await startHttpHarness()
    for (const directive of ['must-revalidate', 'proxy-revalidate', 'no-directive']) {
      const path = `/mr-${directive}`
      let n = 0
      t.origin.answer(path, () =>
        ++n === 1
          ? { headers: [['cache-control', `max-age=1, ${directive}`]] }
          : { status: 500, body: 'origin failed' },
      )
      await t.fetch(path)
      t.clock.advance(2_000)
      const res = await t.fetch(path)
      if (directive === 'no-directive') expect([res.status, xcache(res)]).toEqual([200, 'STALE'])
      else expect([res.status, await res.text()]).toEqual([500, 'origin failed'])
    }
  })

  it('RFC 9213: CDN-Cache-Control and Cistern-Cache-Control win over Cache-Control; an invalid one is ignored', async () => {
    t = await startHttpHarness()
    expect(
      await reuse('/t1', [
        ['cdn-cache-control', 'max-age=3600'],
        ['cache-control', 'no-store'],
      ]),
    ).toBe('HIT')
    expect(
      await reuse('/t2', [
        ['cdn-cache-control', 'no-store'],
        ['cache-control', 'max-age=3600'],
      ]),
    ).toBe('MISS')
    expect(
      await reuse('/t3', [
        ['cistern-cache-control', 'max-age=3600'],
        ['cdn-cache-control', 'no-store'],
      ]),
    ).toBe('HIT')
    expect(
      await reuse('/t4', [
        ['cdn-cache-control', 'max-age="3600"'],
        ['cache-control', 'no-store'],
      ]),
    ).toBe('MISS')
    expect(
      await reuse('/t5', [
        ['cdn-cache-control', 'max-age=3600, &&&'],
        ['cache-control', 'no-store'],
      ]),
    ).toBe('MISS')
  })
})
