import { afterEach, describe, expect, it } from 'vitest'
import { cacheStatus, type HttpHarness, startHttpHarness, xcache } from './helpers.js'

/**
 * Collapsed waiters on a route without a ttl: cistern forwards every end-to-end client header there,
 * but the key (and so single-flight) covers only the route's vary and declared credentials. An
 * answer the upstream made for one client (private, a Set-Cookie, an error with a cookie) must not
 * reach another client that waited on that client's fetch.
 */
describe('collapsed waiters and answers meant for one client', () => {
  let t: HttpHarness
  afterEach(() => t.close())

  /** Bounded wait for the origin to have seen `count` requests for `path`. */
  async function seen(path: string, count: number): Promise<void> {
    for (let i = 0; i < 200 && t.origin.seenFor(path).length < count; i++)
      await new Promise((resolve) => setTimeout(resolve, 5))
    expect(t.origin.seenFor(path).length).toBeGreaterThanOrEqual(count)
  }

  it('a private answer fetched with one client’s X-Api-Key is not served to a client that waited on it', async () => {
    t = await startHttpHarness()
    t.origin.answer('/me', (req, n) => ({
      headers: [['cache-control', 'private, max-age=60']],
      body: `key=${req.headers['x-api-key']}`,
      // The first answer is slow, so the second client arrives while it is in flight.
      ...(n === 1 && { delayMs: 400 }),
    }))
    const a = t.fetch('/me', { headers: { 'x-api-key': 'A' } })
    await seen('/me', 1)
    const b = t.fetch('/me', { headers: { 'x-api-key': 'B' } })
    const [ra, rb] = await Promise.all([a, b])
    expect(await ra.text()).toBe('key=A')
    expect(await rb.text()).toBe('key=B')
    expect(t.origin.seenFor('/me').map((s) => s.headers['x-api-key'])).toEqual(['A', 'B'])
  })

  it('an answer with a Set-Cookie is not handed to a waiter; it gets its own answer and cookie', async () => {
    t = await startHttpHarness()
    t.origin.answer('/session', (req, n) => ({
      headers: [
        ['cache-control', 'max-age=60'],
        ['set-cookie', `sid=${req.headers['x-api-key']}`],
      ],
      body: `key=${req.headers['x-api-key']}`,
      ...(n === 1 && { delayMs: 400 }),
    }))
    const a = t.fetch('/session', { headers: { 'x-api-key': 'A' } })
    await seen('/session', 1)
    const rb = await t.fetch('/session', { headers: { 'x-api-key': 'B' } })
    expect(await rb.text()).toBe('key=B')
    expect(rb.headers.get('set-cookie')).toBe('sid=B')
    expect(await (await a).text()).toBe('key=A')
  })

  it('an upstream error relayed to a waiter carries no Set-Cookie of the client that fetched it', async () => {
    t = await startHttpHarness()
    t.origin.answer('/fails', (req, n) => ({
      status: 503,
      headers: [['set-cookie', `sid=${req.headers['x-api-key']}`]],
      body: 'down',
      ...(n === 1 && { delayMs: 400 }),
    }))
    const a = t.fetch('/fails', { headers: { 'x-api-key': 'A' } })
    await seen('/fails', 1)
    const rb = await t.fetch('/fails', { headers: { 'x-api-key': 'B' } })
    const ra = await a
    expect([rb.status, await rb.text(), xcache(rb)]).toEqual([503, 'down', 'MISS'])
    expect(cacheStatus(rb)).toContain('collapsed')
    expect(rb.headers.get('set-cookie')).toBeNull()
    // The client that asked gets its own answer as before, its cookie included.
    expect([ra.status, ra.headers.get('set-cookie')]).toEqual([503, 'sid=A'])
    expect(t.origin.seenFor('/fails')).toHaveLength(1)
  })
})
