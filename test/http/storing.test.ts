import { afterEach, describe, expect, it } from 'vitest'
import { cacheStatus, fromOrigin, type HttpHarness, startHttpHarness, xcache } from './helpers.js'

/** RFC 9111 §3 (storing responses) and cistern's own storage rules, with the reason it gives. */
describe('RFC 9111 §3: what is stored, and Cache-Status saying why not', () => {
  let t: HttpHarness
  afterEach(() => t.close())

  it('§3: a final answer with explicit freshness is stored, also for statuses not cacheable by default (302)', async () => {
    t = await startHttpHarness()
    t.origin.answer('/moved', () => ({
      status: 302,
      headers: [
        ['cache-control', 'max-age=60'],
        ['location', '/x'],
      ],
    }))
    await t.fetch('/moved', { redirect: 'manual' })
    const again = await t.fetch('/moved', { redirect: 'manual' })
    expect([again.status, xcache(again)]).toEqual([302, 'HIT'])
  })

  it('§3 / §4.2.2: without freshness information, 201 and 403 are not stored (status)', async () => {
    t = await startHttpHarness()
    for (const status of [201, 403]) {
      t.origin.answer(`/s${status}`, () => ({
        status,
        headers: [['last-modified', 'Mon, 01 Jan 2024 00:00:00 GMT']],
      }))
      const first = await t.fetch(`/s${status}`)
      expect(first.status).toBe(status)
      expect(cacheStatus(first)).toContain('uncacheable: status')
      expect(fromOrigin(await t.fetch(`/s${status}`))).toBe(true)
    }
  })

  it('§5.2.2.5 / §5.2.2.7: no-store and private are never stored, and the detail says which', async () => {
    t = await startHttpHarness()
    t.origin.answer('/ns', () => ({ headers: [['cache-control', 'No-Store, max-age=60']] }))
    t.origin.answer('/pv', () => ({ headers: [['cache-control', 'private, max-age=60']] }))
    expect(cacheStatus(await t.fetch('/ns'))).toContain('detail="uncacheable: no-store"')
    expect(cacheStatus(await t.fetch('/pv'))).toContain('detail="uncacheable: private"')
    expect(xcache(await t.fetch('/ns'))).toBe('MISS')
    expect(xcache(await t.fetch('/pv'))).toBe('MISS')
  })

  it('§4.1: Vary: * is never stored (vary-star)', async () => {
    t = await startHttpHarness()
    t.origin.answer('/star', () => ({
      headers: [
        ['cache-control', 'max-age=60'],
        ['vary', 'Foo, *'],
      ],
    }))
    expect(cacheStatus(await t.fetch('/star'))).toContain('uncacheable: vary-star')
    expect(xcache(await t.fetch('/star'))).toBe('MISS')
  })

  it('§4.1: an answer is reused only for requests that agree on the headers its Vary names', async () => {
    t = await startHttpHarness()
    t.origin.answer('/v', (req) => ({
      headers: [
        ['cache-control', 'max-age=60'],
        ['vary', 'Foo'],
      ],
      body: `foo=${req.headers.foo}`,
    }))
    await t.fetch('/v', { headers: { foo: '1' } })
    const same = await t.fetch('/v', { headers: { foo: '1' } })
    expect([xcache(same), await same.text()]).toEqual(['HIT', 'foo=1'])
    const other = await t.fetch('/v', { headers: { foo: '2' } })
    expect([xcache(other), await other.text()]).toEqual(['MISS', 'foo=2'])
    const none = await t.fetch('/v')
    expect([xcache(none), await none.text()]).toEqual(['MISS', 'foo=undefined'])
  })

  it('§3.1: fields the Connection header names, and hop-by-hop fields, are not stored', async () => {
    t = await startHttpHarness()
    t.origin.answer('/conn', () => ({
      headers: [
        ['cache-control', 'max-age=60'],
        ['connection', 'a'],
        ['a', '1'],
        ['c', '3'],
      ],
    }))
    await t.fetch('/conn')
    const hit = await t.fetch('/conn')
    expect(xcache(hit)).toBe('HIT')
    expect(hit.headers.get('a')).toBeNull()
    expect(hit.headers.get('c')).toBe('3')
  })

  it('a Set-Cookie answer is not stored (set-cookie) and its cookie never reaches another client', async () => {
    t = await startHttpHarness()
    t.origin.answer('/session', () => ({
      headers: [
        ['cache-control', 'max-age=60'],
        ['set-cookie', 'sid=abc'],
      ],
    }))
    const first = await t.fetch('/session')
    expect(cacheStatus(first)).toContain('detail="uncacheable: set-cookie"')
    const second = await t.fetch('/session')
    expect(xcache(second)).toBe('MISS')
    expect(second.headers.get('set-cookie')).toBeNull()
    expect(t.origin.seenFor('/session')).toHaveLength(2)
  })

  it('ignoreSetCookie: true strips Set-Cookie and stores the answer', async () => {
    t = await startHttpHarness(`  - path: /strip/*rest
    upstream: origin
    ignoreSetCookie: true
`)
    t.origin.answer('/strip/s', () => ({
      headers: [
        ['cache-control', 'max-age=60'],
        ['set-cookie', 'sid=abc'],
      ],
    }))
    const first = await t.fetch('/strip/s')
    expect(first.headers.get('set-cookie')).toBeNull()
    const second = await t.fetch('/strip/s')
    expect(xcache(second)).toBe('HIT')
    expect(second.headers.get('set-cookie')).toBeNull()
  })

  it('on a route without a ttl an upstream 5xx is relayed as it came, not stored and not replaced by a cistern error', async () => {
    t = await startHttpHarness()
    t.origin.answer('/boom', () => ({ status: 503, headers: [['x-origin', 'yes']], body: 'origin says no' }))
    const res = await t.fetch('/boom')
    expect([res.status, res.headers.get('x-origin'), await res.text()]).toEqual([
      503,
      'yes',
      'origin says no',
    ])
    expect(cacheStatus(res)).toContain('fwd-status=503')
  })
})

describe('statuses on ttl routes: ttl for 2xx, 301 and 308; negativeTtl for 404 and 410; other errors not stored', () => {
  let t: HttpHarness
  afterEach(() => t.close())
  const route = `  - path: /items/*rest
    upstream: origin
    ttl: 1h
    stale: 1h
    methods: [GET, HEAD, POST]
`

  it('a 404 lasts negativeTtl (30s), so an item created by a POST shows up within it', async () => {
    t = await startHttpHarness(route)
    let created = false
    t.origin.answer('/items/7', () => (created ? { body: 'item 7' } : { status: 404, body: 'no item' }))
    t.origin.answer('/items/new', () => {
      created = true
      return { status: 201, body: 'created' }
    })
    expect((await t.fetch('/items/7')).status).toBe(404)
    const hit = await t.fetch('/items/7')
    expect([hit.status, xcache(hit)]).toEqual([404, 'HIT'])
    // Created through another path (the POST does not name /items/7): the 404 lasts its 30 s only.
    expect((await t.fetch('/items/new', { method: 'POST', body: '{}' })).status).toBe(201)
    t.clock.advance(29_000)
    expect(xcache(await t.fetch('/items/7'))).toBe('HIT')
    t.clock.advance(2_000)
    const found = await t.fetch('/items/7')
    expect([found.status, await found.text()]).toEqual([200, 'item 7'])
  })

  it('a POST answered with Location: /items/7 clears the cached 404 at once (RFC 9111 §4.4)', async () => {
    t = await startHttpHarness(route)
    let created = false
    t.origin.answer('/items/7', () => (created ? { body: 'item 7' } : { status: 404 }))
    t.origin.answer('/items/new', () => {
      created = true
      return { status: 201, headers: [['location', '/items/7']] }
    })
    expect((await t.fetch('/items/7')).status).toBe(404)
    await t.fetch('/items/new', { method: 'POST', body: '{}' })
    expect((await t.fetch('/items/7')).status).toBe(200)
  })

  it('a 500 or a 403 is not stored; a 200 keeps the ttl and tells clients max-age = freshness left', async () => {
    t = await startHttpHarness(route)
    t.origin.answer('/items/forbidden', () => ({ status: 403 }))
    expect(cacheStatus(await t.fetch('/items/forbidden'))).toContain('uncacheable: status')
    expect(xcache(await t.fetch('/items/forbidden'))).toBe('MISS')
    t.origin.answer('/items/ok', () => ({ headers: [['cache-control', 'no-cache']] }))
    const first = await t.fetch('/items/ok')
    expect(first.headers.get('cache-control')).toBe('max-age=3600')
    t.clock.advance(600_000)
    const later = await t.fetch('/items/ok')
    expect([xcache(later), later.headers.get('cache-control')]).toEqual(['HIT', 'max-age=3000'])
  })

  it("clientCacheControl: upstream sends the upstream's Cache-Control on a ttl route", async () => {
    t = await startHttpHarness(`  - path: /raw/*rest
    upstream: origin
    ttl: 1h
    clientCacheControl: upstream
`)
    t.origin.answer('/raw/a', () => ({ headers: [['cache-control', 'max-age=5']] }))
    await t.fetch('/raw/a')
    const hit = await t.fetch('/raw/a')
    expect([xcache(hit), hit.headers.get('cache-control')]).toEqual(['HIT', 'max-age=5'])
  })
})

describe('RFC 9110 §14 / RFC 9111 §3.3: ranges', () => {
  let t: HttpHarness
  afterEach(() => t.close())

  it('a Range with no whole copy stored goes to the upstream as it is; once the whole body is stored, ranges are answered from it', async () => {
    t = await startHttpHarness()
    t.origin.answer('/r', (req) =>
      req.headers.range
        ? { status: 206, headers: [['content-range', 'bytes 0-1/10']], body: '01' }
        : { headers: [['cache-control', 'max-age=60']], body: '0123456789' },
    )
    const partial = await t.fetch('/r', { headers: { range: 'bytes=0-1' } })
    expect([partial.status, await partial.text(), xcache(partial)]).toEqual([206, '01', 'PASS'])
    expect(t.origin.seenFor('/r')[0]!.headers.range).toBe('bytes=0-1')
    await t.fetch('/r')
    const fromCache = await t.fetch('/r', { headers: { range: 'bytes=2-4' } })
    expect([fromCache.status, await fromCache.text()]).toEqual([206, '234'])
    expect(fromCache.headers.get('content-range')).toBe('bytes 2-4/10')
    const suffix = await t.fetch('/r', { headers: { range: 'bytes=-3' } })
    expect(await suffix.text()).toBe('789')
    expect(t.origin.seenFor('/r')).toHaveLength(2)
  })
})
