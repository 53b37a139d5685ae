import { afterEach, describe, expect, it } from 'vitest'
import { fromOrigin, type HttpHarness, startHttpHarness, xcache } from './helpers.js'

/** RFC 9111 §5.2.1 (request directives) and §5.4 (Pragma), on a route without a ttl. */
describe('RFC 9111 §5.2.1: request directives', () => {
  let t: HttpHarness
  afterEach(() => t.close())

  async function stored(path: string, cacheControl = 'max-age=3600', extra: [string, string][] = []) {
    t.origin.answer(path, (req) =>
      req.headers['if-none-match'] === '"e"'
        ? { status: 304, headers: [['etag', '"e"']] }
        : { headers: [['cache-control', cacheControl], ['etag', '"e"'], ...extra] },
    )
    await t.fetch(path)
  }
  const ask = (path: string, cacheControl: string) =>
    t.fetch(path, { headers: { 'cache-control': cacheControl } })

  it('§5.2.1.4: no-cache revalidates a fresh copy with its validator', async () => {
    t = await startHttpHarness()
    await stored('/nc')
    expect(xcache(await ask('/nc', 'no-cache'))).toBe('REVALIDATED')
    expect(t.origin.seenFor('/nc')[1]!.headers['if-none-match']).toBe('"e"')
  })

  it('§5.4: Pragma: no-cache without Cache-Control revalidates too; with Cache-Control it is ignored', async () => {
    t = await startHttpHarness()
    await stored('/p')
    expect(fromOrigin(await t.fetch('/p', { headers: { pragma: 'no-cache' } }))).toBe(true)
    const withCc = await t.fetch('/p', { headers: { pragma: 'no-cache', 'cache-control': 'max-stale=1' } })
    expect(xcache(withCc)).toBe('HIT')
  })

  it('§5.2.1.1: max-age refuses a copy older than it', async () => {
    t = await startHttpHarness()
    await stored('/ma')
    t.clock.advance(10_000)
    expect(xcache(await ask('/ma', 'max-age=60'))).toBe('HIT')
    expect(fromOrigin(await ask('/ma', 'max-age=5'))).toBe(true)
  })

  it('§5.2.1.3: min-fresh refuses a copy fresh for less than it', async () => {
    t = await startHttpHarness()
    await stored('/mf', 'max-age=100')
    expect(xcache(await ask('/mf', 'min-fresh=50'))).toBe('HIT')
    expect(fromOrigin(await ask('/mf', 'min-fresh=500'))).toBe(true)
  })

  it('§5.2.1.2: max-stale accepts a stale copy, but not one that must revalidate', async () => {
    t = await startHttpHarness()
    await stored('/ms', 'max-age=1')
    await stored('/msr', 'max-age=1, must-revalidate')
    t.clock.advance(30_000)
    expect(xcache(await ask('/ms', 'max-stale=60'))).toBe('STALE')
    expect(xcache(await ask('/ms', 'max-stale'))).toBe('STALE')
    expect(fromOrigin(await ask('/msr', 'max-stale=60'))).toBe(true)
  })

  it('§5.2.1.7: only-if-cached answers from the cache or with a 504, never asking the upstream', async () => {
    t = await startHttpHarness()
    const none = await ask('/oic', 'only-if-cached')
    expect(none.status).toBe(504)
    expect(t.origin.seenFor('/oic')).toHaveLength(0)
    await stored('/oic2')
    const hit = await ask('/oic2', 'only-if-cached')
    expect([hit.status, xcache(hit)]).toEqual([200, 'HIT'])
  })

  it('§5.2.1.5: no-store goes to the upstream and leaves nothing stored', async () => {
    t = await startHttpHarness()
    t.origin.answer('/nst', () => ({ headers: [['cache-control', 'max-age=3600']] }))
    expect(xcache(await ask('/nst', 'no-store'))).toBe('PASS')
    expect(xcache(await t.fetch('/nst'))).toBe('MISS')
  })
})
