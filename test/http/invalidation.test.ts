import { afterEach, describe, expect, it } from 'vitest'
import { exchange } from '../gateway/raw-exchange.js'
import { type HttpHarness, startHttpHarness, xcache } from './helpers.js'

/** RFC 9111 §4.4: a successful unsafe request invalidates its target, Location and Content-Location. */
describe('RFC 9111 §4.4: invalidation', () => {
  let t: HttpHarness
  afterEach(() => t.close())
  const fresh = () => ({ headers: [['cache-control', 'max-age=3600']] as [string, string][] })

  for (const method of ['POST', 'PUT', 'DELETE']) {
    it(`a successful ${method} invalidates the target URI; a failed one does not`, async () => {
      t = await startHttpHarness()
      let fail = false
      t.origin.answer('/doc', (req) => (req.method === 'GET' ? fresh() : { status: fail ? 500 : 200 }))
      await t.fetch('/doc')
      expect(xcache(await t.fetch('/doc'))).toBe('HIT')
      fail = true
      await t.fetch('/doc', { method, body: method === 'DELETE' ? null : 'x' })
      expect(xcache(await t.fetch('/doc'))).toBe('HIT')
      fail = false
      await t.fetch('/doc', { method, body: method === 'DELETE' ? null : 'x' })
      expect(xcache(await t.fetch('/doc'))).toBe('MISS')
    })
  }

  it('Location and Content-Location on the same host are invalidated; another host is not ours', async () => {
    t = await startHttpHarness()
    for (const path of ['/a', '/b', '/c']) t.origin.answer(path, fresh)
    t.origin.answer('/form', () => ({
      status: 201,
      headers: [
        ['location', '/a'],
        ['content-location', `${t.origin.url}/b`],
      ],
    }))
    t.origin.answer('/elsewhere', () => ({ status: 201, headers: [['location', 'http://example.com/c']] }))
    for (const path of ['/a', '/b', '/c']) await t.fetch(path)
    await t.fetch('/form', { method: 'POST', body: 'x' })
    await t.fetch('/elsewhere', { method: 'POST', body: 'x' })
    expect(xcache(await t.fetch('/a'))).toBe('MISS')
    expect(xcache(await t.fetch('/b'))).toBe('MISS')
    expect(xcache(await t.fetch('/c'))).toBe('HIT')
  })

  it('a Host header that is no URL host does not fail the write: the target and a relative Location are invalidated', async () => {
    t = await startHttpHarness()
    t.origin.answer('/a', fresh)
    t.origin.answer('/doc', (req) =>
      req.method === 'GET' ? fresh() : { status: 201, headers: [['location', '/a']] },
    )
    const port = Number(new URL(t.h.url).port)
    for (const host of ['x:99999', 'a b', '[::1']) {
      for (const path of ['/doc', '/a']) await t.fetch(path)
      expect(xcache(await t.fetch('/doc'))).toBe('HIT')
      const { responses } = await exchange(
        port,
        `POST /doc HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`,
        1,
      )
      expect(responses[0]!.head).toMatch(/^HTTP\/1\.1 201 /)
      expect(xcache(await t.fetch('/doc'))).toBe('MISS')
      expect(xcache(await t.fetch('/a'))).toBe('MISS')
    }
  })
})
