import { afterEach, describe, expect, it } from 'vitest'
import type { UpstreamFailure } from '../../src/upstream/client/failure.js'
import type { Upstream } from '../../src/upstream/create-upstream.js'
import { headerLines, headerValue, singleValued } from '../../src/util/headers.js'
import { type Harness, startHarness } from '../gateway/harness.js'
import { type RawOrigin, rawResponse, startRawOrigin } from './raw-origin.js'
import { rejection, upstreamFromYaml } from './upstream.js'

/** Every header a cache reads, each sent twice (node:http would never send these; a broken upstream does). */
const REPEATED = [
  'Content-Type: application/json',
  'Content-Type: text/html',
  'Cache-Control: max-age=60',
  'Cache-Control: public',
  'ETag: "a"',
  'ETag: "b"',
  'Retry-After: 1',
  'Retry-After: 2',
  'Surrogate-Key: team-1 team-2',
  'Surrogate-Key: event-x',
  'Vary: Accept',
  'Vary: Accept-Language',
  'Age: 5',
  'Age: 6',
  'Date: Mon, 01 Jan 2024 00:00:00 GMT',
  'Date: Mon, 01 Jan 2024 00:00:01 GMT',
  'Last-Modified: Sun, 31 Dec 2023 00:00:00 GMT',
  'Last-Modified: Sat, 30 Dec 2023 00:00:00 GMT',
  'Expires: Mon, 01 Jan 2024 00:01:00 GMT',
  'Expires: Mon, 01 Jan 2024 00:02:00 GMT',
  'Set-Cookie: a=1; Expires=Mon, 01 Jan 2024 00:00:00 GMT',
  'Set-Cookie: b=2',
]
const BODY = '{"team":1}'

describe('repeated upstream headers', () => {
  let origin: RawOrigin | undefined
  let h: Harness | undefined
  let upstream: Upstream | undefined
  afterEach(async () => {
    await upstream?.client.close()
    await h?.close()
    await origin?.close()
    origin = h = upstream = undefined
  })

  it('headerValue joins a list field, keeps the first line of a single-valued one', () => {
    const headers = {
      'cache-control': ['max-age=60', 'public'],
      etag: ['"a"', '"b"'],
      'set-cookie': ['a=1', 'b=2'],
    }
    expect(headerValue(headers, 'Cache-Control')).toBe('max-age=60, public')
    expect(headerValue(headers, 'etag')).toBe('"a"')
    expect(headerValue(headers, 'missing')).toBeUndefined()
    expect(headerLines(headers, 'set-cookie')).toEqual(['a=1', 'b=2'])
    expect(headerValue({ ETag: '"x"' }, 'etag')).toBe('"x"')
    expect(headerValue(new Headers({ vary: 'a' }), 'Vary')).toBe('a')
    expect(singleValued(headers)).toEqual({
      'cache-control': 'max-age=60, public',
      etag: '"a"',
      'set-cookie': ['a=1', 'b=2'],
    })
  })

  it('the client answers with one value per field (Set-Cookie keeps its lines)', async () => {
    origin = await startRawOrigin((_head, socket) => socket.end(rawResponse(200, REPEATED, BODY)))
    upstream = upstreamFromYaml(origin.url, 'retries: { max: 0 }')
    const response = await upstream.client.request({
      method: 'GET',
      path: '/x',
      lane: 'foreground',
      expect: 'json',
    })
    expect(response.status).toBe(200)
    expect(response.headers).toMatchObject({
      'content-type': 'application/json',
      'cache-control': 'max-age=60, public',
      etag: '"a"',
      'retry-after': '1',
      'surrogate-key': 'team-1 team-2, event-x',
      vary: 'Accept, Accept-Language',
      age: '5',
      date: 'Mon, 01 Jan 2024 00:00:00 GMT',
      'last-modified': 'Sun, 31 Dec 2023 00:00:00 GMT',
      expires: 'Mon, 01 Jan 2024 00:01:00 GMT',
      'set-cookie': ['a=1; Expires=Mon, 01 Jan 2024 00:00:00 GMT', 'b=2'],
    })
  })

  it('a 503 with two Retry-After lines pauses for the first', async () => {
    origin = await startRawOrigin((_head, socket) =>
      socket.end(
        rawResponse(503, ['Retry-After: 3', 'Retry-After: 600', 'Content-Type: application/json'], '{}'),
      ),
    )
    upstream = upstreamFromYaml(origin.url, 'retries: { max: 0 }')
    const failure = (await rejection(
      upstream.client.request({ method: 'GET', path: '/x', lane: 'foreground' }),
    )) as UpstreamFailure
    expect(failure.status).toBe(503)
    expect(failure.retryAfterMs).toBe(3000)
  })

  it('over the gateway: no crash on any route kind; stored, tagged and revalidated by the first values', async () => {
    const etags: (string | undefined)[] = []
    origin = await startRawOrigin((head, socket) => {
      etags.push(/\r\nif-none-match: *([^\r]*)/i.exec(head)?.[1])
      // No Set-Cookie on the cached routes: a shared cache must not store those (a separate concern).
      const lines = REPEATED.filter((line) => !line.startsWith('Set-Cookie') || head.includes('/pass'))
      socket.end(rawResponse(200, lines, BODY))
    })
    const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  raw: { url: "\${ORIGIN}", retries: { max: 0 } }
routes:
  - { path: /ttl/:x, upstream: raw, to: /ttl/:x, ttl: 1m }
  - { path: /http/:x, upstream: raw, to: /http/:x }
  - { path: /pass/:x, upstream: raw, to: /pass/:x, cache: false }
`
    // cistern's clock one second after the upstream's first Date: its age is the first Age line (5).
    const now = Date.parse('Mon, 01 Jan 2024 00:00:01 GMT')
    h = await startHarness({ yaml, env: { ORIGIN: origin.url }, now: () => now })
    for (const path of ['/ttl/1', '/http/1', '/pass/1']) {
      const res = await h.get(path)
      expect(res.status, path).toBe(200)
      expect(await res.text()).toBe(BODY)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(res.headers.get('etag')).toBe('"a"')
      // The first answers vary on headers their keys do not hold yet, so none is stored under its
      // key: even the ttl route passes the upstream's Cache-Control on, cistern's policy not applying.
      expect(res.headers.get('cache-control')).toBe('max-age=60, public')
      expect(res.headers.get('last-modified')).toBe('Sun, 31 Dec 2023 00:00:00 GMT')
    }
    // The route without a ttl follows the upstream's headers: max-age 60 less the first Age (5).
    const hit = await h.get('/http/1')
    expect(hit.headers.get('x-cache-status')).toBe('HIT')
    const ttl = Number(/ttl=(\d+)/.exec(hit.headers.get('cache-status') ?? '')?.[1])
    expect(ttl).toBeGreaterThan(50)
    expect(ttl).toBeLessThanOrEqual(55)
    // Both Surrogate-Key lines tag the entry.
    await h.gateway.cache.invalidate({ tags: ['event-x'] })
    expect((await h.get('/ttl/1')).headers.get('x-cache-status')).toBe('MISS')
    expect((await h.get('/http/1')).headers.get('x-cache-status')).toBe('MISS')
    // A revalidation sends the one stored validator, not a glued pair.
    const forced = await h.get('/ttl/1', { 'cache-control': 'no-cache' })
    expect(forced.status).toBe(200)
    expect(etags.at(-1)).toBe('"a"')
    const pass = await h.get('/pass/2')
    expect(pass.headers.getSetCookie()).toEqual(['a=1; Expires=Mon, 01 Jan 2024 00:00:00 GMT', 'b=2'])
  })
})
