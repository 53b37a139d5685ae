import { brotliCompressSync, gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { UpstreamFailure } from '../../src/upstream/client/failure.js'
import type { Upstream } from '../../src/upstream/create-upstream.js'
import { type Harness, startHarness } from '../gateway/harness.js'
import { type RawOrigin, startRawOrigin } from './raw-origin.js'
import { rejection, upstreamFromYaml } from './upstream.js'

/** 64 MB of zeros, gzipped: about 64 KB on the wire. */
const BOMB = gzipSync(Buffer.alloc(64 * 1024 * 1024))
const SMALL = gzipSync(Buffer.from('{"ok":true}'))

/** Chunked, so nothing but decoding can tell the size; `/ok` is a small gzip body. */
function gzipOrigin(): Promise<RawOrigin> {
  return startRawOrigin((head, socket) => {
    const body = head.startsWith('GET /ok') ? SMALL : BOMB
    socket.write(
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n' +
        'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    )
    for (let at = 0; at < body.length; at += 16 * 1024) {
      const chunk = body.subarray(at, at + 16 * 1024)
      socket.write(`${chunk.length.toString(16)}\r\n`)
      socket.write(chunk)
      socket.write('\r\n')
    }
    socket.end('0\r\n\r\n')
  })
}

describe('compressed upstream bodies', () => {
  let origin: RawOrigin | undefined
  let upstream: Upstream | undefined
  let h: Harness | undefined
  afterEach(async () => {
    await upstream?.client.close()
    await h?.close()
    await origin?.close()
    origin = upstream = h = undefined
  })

  it("is refused while decoding, not retried, and says nothing about the upstream's health", async () => {
    origin = await gzipOrigin()
    upstream = upstreamFromYaml(origin.url, 'retries: { max: 3, backoff: 10ms }\nbreaker: { failures: 1 }')
    const before = process.memoryUsage().arrayBuffers
    const failure = (await rejection(
      upstream.client.request({ method: 'GET', path: '/bomb', lane: 'foreground' }),
    )) as UpstreamFailure
    expect(failure).toBeInstanceOf(UpstreamFailure)
    expect(failure.kind).toBe('too-large')
    expect(failure.status).toBe(200)
    expect(failure.message).toMatch(/over 1048576 bytes/)
    // Decoding stopped at the 1 MB limit: the 64 MB were never inflated into memory.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024)
    expect(origin.hits).toBe(1)
    expect(upstream.snapshot().state).toBe('UP')
    expect(upstream.snapshot().recentCalls.map((call) => call.outcome)).toEqual(['too-large'])
    // The connection was closed at the limit; the next call is answered normally.
    const ok = await upstream.client.request({ method: 'GET', path: '/ok', lane: 'foreground' })
    expect(JSON.parse(ok.body.toString())).toEqual({ ok: true })
  })

  it('over the gateway: a 502 upstream_too_large at once, one upstream hit, breaker still closed', async () => {
    origin = await gzipOrigin()
    const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
limits: { maxResponseSize: 1MB }
upstreams:
  bomb: { url: "\${ORIGIN}", breaker: { failures: 1 } }
routes:
  - { path: /data/:x, upstream: bomb, to: /:x, ttl: 1m }
`
    h = await startHarness({ yaml, env: { ORIGIN: origin.url } })
    const started = performance.now()
    const res = await h.get('/data/bomb')
    const ms = performance.now() - started
    expect(res.status).toBe(502)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('upstream_too_large')
    expect(body.error.message).toBe('upstream "bomb" answered 200 with a body over 1000000 bytes')
    expect(ms).toBeLessThan(2000)
    expect(origin.hits).toBe(1)
    expect(h.gateway.upstreams.get('bomb')!.snapshot().state).toBe('UP')
    const next = await h.get('/data/ok')
    expect(next.status).toBe(200)
    expect(await next.json()).toEqual({ ok: true })
    expect(origin.hits).toBe(2)
  })

  it('decodes a list of codings in reverse; an empty body under a coding (HEAD, 304) is empty', async () => {
    const json = Buffer.from('{"layers":2}')
    const twice = brotliCompressSync(gzipSync(json))
    origin = await startRawOrigin((head, socket) => {
      if (head.startsWith('GET /twice')) {
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip, br\r\n` +
            `Content-Length: ${twice.length}\r\nConnection: close\r\n\r\n`,
        )
        socket.end(twice)
      } else if (head.startsWith('GET /truncated')) {
        // The header and part of the deflate stream, without its end and the gzip trailer.
        const gzipped = gzipSync(json)
        const cut = gzipped.subarray(0, gzipped.length - 10)
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${cut.length}\r\nConnection: close\r\n\r\n`,
        )
        socket.end(cut)
      } else {
        // A 304 (and a HEAD) repeats the representation's Content-Encoding and has no body.
        socket.end(
          'HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\nETag: "v1"\r\nConnection: close\r\n\r\n',
        )
      }
    })
    upstream = upstreamFromYaml(origin.url, 'retries: { max: 0 }')
    const request = (path: string) => upstream!.client.request({ method: 'GET', path, lane: 'foreground' })
    expect(JSON.parse((await request('/twice')).body.toString())).toEqual({ layers: 2 })
    const notModified = await request('/not-modified')
    expect(notModified.status).toBe(304)
    expect(notModified.body.byteLength).toBe(0)
    expect(notModified.headers.etag).toBe('"v1"')
    // Cut short after some bytes: that is a broken answer, not an empty one.
    const truncated = (await rejection(request('/truncated'))) as UpstreamFailure
    expect(truncated.kind).toBe('bad-response')
    expect(truncated.message).toMatch(/unexpected end of file/)
  })
})
