import { afterEach, describe, expect, it } from 'vitest'
import { type HttpHarness, startHttpHarness } from './helpers.js'

/** RFC 9110 §7.6: what an intermediary forwards, on routes without a ttl and on pass-through. */
describe('RFC 9110 §7.6: forwarding request headers', () => {
  let t: HttpHarness
  afterEach(() => t.close())

  it('§7.6.1 / §7.6.3: end-to-end headers go on, hop-by-hop ones and those Connection names do not; Via names cistern', async () => {
    t = await startHttpHarness()
    t.origin.answer('/f', () => ({}))
    await t.plain('/f', {
      'x-trace': 't1',
      'req-num': '3',
      connection: 'x-hop',
      'x-hop': 'no',
      via: '1.1 edge',
    })
    const seen = t.origin.seenFor('/f')[0]!.headers
    expect(seen['x-trace']).toBe('t1')
    expect(seen['req-num']).toBe('3')
    expect(seen['x-hop']).toBeUndefined()
    expect(seen.via).toBe('1.1 edge, 1.1 cistern')
  })

  it('dropHeaders keeps named client headers from the upstream', async () => {
    t = await startHttpHarness('', '    dropHeaders: [X-Internal]\n')
    t.origin.answer('/d', () => ({}))
    await t.fetch('/d', { headers: { 'x-internal': 'secret', 'x-ok': '1' } })
    const seen = t.origin.seenFor('/d')[0]!.headers
    expect([seen['x-internal'], seen['x-ok']]).toEqual([undefined, '1'])
  })

  it('pass-through (POST) forwards end-to-end headers and the body, and adds Via', async () => {
    t = await startHttpHarness()
    t.origin.answer('/w', () => ({ status: 201 }))
    await t.fetch('/w', {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'r1', 'content-type': 'application/json' },
    })
    const seen = t.origin.seenFor('/w')[0]!
    expect([seen.method, seen.headers['x-request-id'], seen.headers['content-type']]).toEqual([
      'POST',
      'r1',
      'application/json',
    ])
    expect(seen.headers.via).toBe('1.1 cistern')
  })

  it('a ttl route keeps forwarding only content negotiation and its vary headers (cistern owns the policy)', async () => {
    t = await startHttpHarness(`  - path: /owned/*rest
    upstream: origin
    ttl: 1h
`)
    t.origin.answer('/owned/x', () => ({}))
    await t.fetch('/owned/x', { headers: { 'x-trace': 't1', 'accept-language': 'nb' } })
    const seen = t.origin.seenFor('/owned/x')[0]!.headers
    expect([seen['x-trace'], seen['accept-language'], seen.via]).toEqual([undefined, 'nb', undefined])
  })

  it('credentials reach an upstream without auth of its own, and never one with auth', async () => {
    t = await startHttpHarness()
    t.origin.answer('/me', () => ({}))
    await t.fetch('/me', { headers: { authorization: 'Bearer alice', 'proxy-authorization': 'Basic x' } })
    const seen = t.origin.seenFor('/me')[0]!.headers
    expect([seen.authorization, seen['proxy-authorization']]).toEqual(['Bearer alice', undefined])
  })
})
