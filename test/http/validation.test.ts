import { afterEach, describe, expect, it } from 'vitest'
import { type HttpHarness, startHttpHarness, xcache } from './helpers.js'

/** RFC 9111 §4.3 (validation) and RFC 9110 §13 (conditional requests answered from the cache). */
describe('RFC 9111 §4.3: validation', () => {
  let t: HttpHarness
  afterEach(() => t.close())
  const LM = 'Mon, 01 Jan 2024 00:00:00 GMT'

  it('§4.3.1: a stale copy is revalidated with its strong or weak ETag, and with Last-Modified', async () => {
    t = await startHttpHarness()
    for (const [path, validator] of [
      ['/strong', ['etag', '"a"']],
      ['/weak', ['etag', 'W/"a"']],
      ['/lm', ['last-modified', LM]],
    ] as const) {
      t.origin.answer(path, (req) =>
        req.headers['if-none-match'] === validator[1] || req.headers['if-modified-since'] === validator[1]
          ? { status: 304 }
          : {
              headers: [
                ['cache-control', 'max-age=1'],
                [validator[0], validator[1]],
              ],
            },
      )
      await t.fetch(path)
      t.clock.advance(2_000)
      expect(xcache(await t.fetch(path))).toBe('REVALIDATED')
    }
  })

  it('§4.3.4: a 304 updates the stored headers but not the content fields', async () => {
    t = await startHttpHarness()
    t.origin.answer('/upd', (req) =>
      req.headers['if-none-match'] === '"a"'
        ? {
            status: 304,
            headers: [
              ['cache-control', 'max-age=3600'],
              ['x-test', 'new'],
              ['content-type', 'text/html'],
              ['etag', '"a"'],
            ],
          }
        : {
            headers: [
              ['cache-control', 'max-age=1'],
              ['x-test', 'old'],
              ['x-kept', 'yes'],
              ['etag', '"a"'],
            ],
            body: 'body',
          },
    )
    await t.fetch('/upd')
    t.clock.advance(2_000)
    await t.fetch('/upd')
    const hit = await t.fetch('/upd')
    expect(xcache(hit)).toBe('HIT')
    expect(hit.headers.get('x-test')).toBe('new')
    expect(hit.headers.get('x-kept')).toBe('yes')
    expect(hit.headers.get('content-type')).toBe('text/plain')
    expect(await hit.text()).toBe('body')
  })

  it('RFC 9110 §13.1.2 / §13.1.3: a client conditional is answered 304 from the cache (weak comparison; If-None-Match first)', async () => {
    t = await startHttpHarness()
    t.origin.answer('/c', () => ({
      headers: [
        ['cache-control', 'max-age=3600'],
        ['etag', '"abc"'],
        ['last-modified', LM],
      ],
    }))
    await t.fetch('/c')
    const byTag = await t.plain('/c', { 'if-none-match': '"x", W/"abc"' })
    expect([byTag.status, byTag.headers.get('etag')]).toEqual([304, '"abc"'])
    const byDate = await t.plain('/c', { 'if-modified-since': LM })
    expect(byDate.status).toBe(304)
    const tagWins = await t.plain('/c', { 'if-none-match': '"other"', 'if-modified-since': LM })
    expect(tagWins.status).toBe(200)
    expect(t.origin.seenFor('/c')).toHaveLength(1)
    // The client's conditionals never reach the upstream: cistern validates its own copy.
    expect(t.origin.seenFor('/c')[0]!.headers['if-none-match']).toBeUndefined()
  })
})
