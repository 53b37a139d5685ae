import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.js'
import { exchange } from './raw-exchange.js'

/**
 * cistern as a hostile client sees it: raw bytes no HTTP library would send. Whatever arrives, the
 * answer is a clear 4xx (JSON where cistern can answer at all), nothing malformed reaches the
 * upstream, nothing hangs, and the gateway keeps serving everyone else.
 */

interface Answer {
  text: string
  /** The server closed the connection (within the wait). */
  closed: boolean
}

/** Write `bytes`, then read until the server closes or `waitMs` passes. */
function send(port: number, bytes: string | Buffer, waitMs = 1500): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    let text = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ text, closed: false })
    }, waitMs)
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1')
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ text, closed: true })
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET') reject(error)
    })
  })
}

const status = (answer: Answer) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer.text)?.[1])
const code = (answer: Answer) => /"code":"([a-z_]+)"/.exec(answer.text)?.[1]

const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
server: { headersTimeout: 1s, requestTimeout: 2s }
limits: { maxBodySize: 4KB }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    ttl: 1h
    vary: [X-A, X-B]
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    methods: [POST, PUT]
  - path: /t/*rest
    upstream: ftc
    to: /2025/teams/:rest
    ttl: 1h
`

describe('hostile clients', () => {
  let h: Harness
  let port: number
  /** A team the simulated upstream knows. */
  let team: number
  beforeAll(async () => {
    h = await startHarness({ yaml })
    port = Number(new URL(h.url).port)
    team = h.sim.teamNumbers(2025)[0]!
  })
  afterAll(() => h.close())

  /** After every probe: the gateway still answers a plain request. */
  async function stillServing(): Promise<void> {
    const res = await fetch(`${h.url}/ftc/2025/teams/${team}`, { signal: AbortSignal.timeout(2000) })
    expect(res.status).toBeLessThan(500)
  }

  const requestsMetric = async (cacheStatus: string) =>
    Number(
      new RegExp(
        `cistern_requests_total\\{route="[^"]*t/\\*rest[^"]*",cache_status="${cacheStatus}"\\} (\\d+)`,
      ).exec(await h.cistern.admin!.metrics.text())?.[1] ?? 0,
    )

  describe('malformed paths: 400 bad_path, never forwarded, never an upstream error', () => {
    const paths = [
      '/t//x',
      '/t/a//b',
      '/t/x//',
      '/t/..',
      '/t/a/../../x',
      '/t/%2e%2e/x',
      '/t/a%2Fb',
      '/t/a%2fb',
      '/t/a%5Cb',
      '/t/a%00',
      '/t/%zz',
      '/t/%',
      '/t/%e2%82',
    ]
    for (const path of paths) {
      it(`GET ${path}`, async () => {
        h.sim.resetStats()
        const errorsBefore = await requestsMetric('ERROR')
        const answer = await send(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
        expect(status(answer), answer.text).toBe(400)
        expect(code(answer)).toBe('bad_path')
        expect(h.sim.stats().total).toBe(0)
        expect(await requestsMetric('ERROR')).toBe(errorsBefore)
      })
    }

    it('a target over 8000 bytes is 414; one over the 16 KB header limit is a JSON 431', async () => {
      const long = await send(
        port,
        `GET /t/${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      )
      expect(status(long)).toBe(414)
      expect(code(long)).toBe('uri_too_long')
      const huge = await send(port, `GET /t/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
      expect(status(huge)).toBe(431)
      expect(code(huge)).toBe('headers_too_large')
      expect(huge.closed).toBe(true)
      expect(h.sim.stats().total).toBe(0)
    })

    it('a splat still takes ordinary nested paths and a trailing slash', async () => {
      h.sim.resetStats()
      expect((await fetch(`${h.url}/t/${team}`)).status).toBe(200)
      expect(h.sim.calls.at(-1)!.url).toBe(`/v2.0/2025/teams/${team}`)
      await fetch(`${h.url}/t/${team}/x/`)
      expect(h.sim.calls.at(-1)!.url).toBe(`/v2.0/2025/teams/${team}/x/`)
    })
  })

  describe('framing attacks: a JSON 400 and a closed connection, nothing forwarded', () => {
    const probes: [string, string][] = [
      [
        'Content-Length with Transfer-Encoding (CL.TE smuggling)',
        'POST /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /ftc/2025/teams/2 HTTP/1.1\r\nHost: x\r\n\r\n',
      ],
      [
        'two different Content-Lengths',
        'POST /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc',
      ],
      [
        'an obfuscated Transfer-Encoding',
        'POST /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
      ],
      ['a space before the colon', 'GET /ftc/2025/teams/1 HTTP/1.1\r\nHost : x\r\n\r\n'],
      [
        'an obsolete folded header',
        'GET /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n',
      ],
      [
        'a bare CR inside a vary header',
        'GET /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nX-A: 1\rX-B: 2\r\n\r\n',
      ],
      ['a NUL inside a header', 'GET /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nX-A: 1\u0000x\r\n\r\n'],
      ['a bare LF line ending', 'GET /ftc/2025/teams/1 HTTP/1.1\nHost: x\nX-A: 1\n\n'],
      ['an invalid method', 'G<T /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['an unknown HTTP version', 'GET /ftc/2025/teams/1 HTTP/9.9\r\nHost: x\r\n\r\n'],
      [
        'garbage',
        '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003 TLS hello to a plain port\r\n\r\n',
      ],
    ]
    for (const [name, bytes] of probes) {
      it(name, async () => {
        h.sim.resetStats()
        const answer = await send(port, Buffer.from(bytes, 'latin1'))
        expect(status(answer), answer.text).toBe(400)
        expect(answer.text).toContain('content-type: application/json')
        expect(answer.closed).toBe(true)
        expect(h.sim.stats().total).toBe(0)
        await stillServing()
      })
    }

    it('HTTP/1.1 without Host: JSON 400', async () => {
      const answer = await send(port, `GET /ftc/2025/teams/${team} HTTP/1.1\r\n\r\n`)
      expect(status(answer)).toBe(400)
      expect(code(answer)).toBe('bad_request')
    })

    it('HTTP/1.0 without Host is served, and the connection closes after it', async () => {
      const answer = await send(port, `GET /ftc/2025/teams/${team} HTTP/1.0\r\n\r\n`)
      expect(status(answer)).toBe(200)
      expect(answer.closed).toBe(true)
    })

    it('a declared body over the limit is refused before it is sent (413, closed)', async () => {
      h.sim.resetStats()
      const answer = await send(
        port,
        `POST /ftc/2025/teams/${team} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nExpect: 100-continue\r\n\r\n`,
      )
      expect(status(answer)).toBe(413)
      expect(code(answer)).toBe('body_too_large')
      expect(answer.closed).toBe(true)
      expect(h.sim.stats().total).toBe(0)
    })

    it('a WebSocket upgrade is not tunnelled anywhere', async () => {
      h.sim.resetStats()
      const answer = await send(
        port,
        `GET /ftc/2025/teams/${team} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
        500,
      )
      expect(answer.text).not.toMatch(/^HTTP\/1\.1 101/)
      await stillServing()
    })
  })

  describe('header floods and injection', () => {
    it('2500 headers: an ordinary answer (Node 20 keeps the first 2000) or a JSON 431 (Node 24)', async () => {
      const many = Array.from({ length: 2500 }, (_, i) => `h${i}:1\r\n`).join('')
      const answer = await send(
        port,
        `GET /ftc/2025/teams/${team} HTTP/1.1\r\nHost: x\r\n${many}Connection: close\r\n\r\n`,
      )
      // Node 24's parser counts the header bytes where Node 20 drops the headers past 2000: either
      // way nothing crashes and the answer is one cistern meant.
      expect([200, 431]).toContain(status(answer))
      if (status(answer) === 431) expect(answer.text).toContain('"headers_too_large"')
      await stillServing()
    })

    it('headers over 16 KB: JSON 431, connection closed', async () => {
      const big = `X-A: ${'a'.repeat(17_000)}\r\n`
      const answer = await send(port, `GET /ftc/2025/teams/${team} HTTP/1.1\r\nHost: x\r\n${big}\r\n`)
      expect(status(answer)).toBe(431)
      expect(answer.closed).toBe(true)
    })

    it('an encoded CRLF in a vary value stays text: no header is added to the answer', async () => {
      const answer = await send(
        port,
        `GET /ftc/2025/teams/${team} HTTP/1.1\r\nHost: x\r\nX-A: 1%0d%0aSet-Cookie: pwned=1\r\nConnection: close\r\n\r\n`,
      )
      expect(status(answer)).toBe(200)
      // The value may be echoed inside another header (Cache-Status key=), never as a line of its own.
      expect(answer.text).not.toMatch(/\r\nset-cookie:/i)
    })
  })

  describe('pipelining', () => {
    it('1000 pipelined requests are answered in order, and other clients are served meanwhile', async () => {
      const one = `GET /ftc/2025/teams/${team} HTTP/1.1\r\nHost: x\r\n\r\n`
      const flood = exchange(port, one.repeat(1000), 1000, { timeoutMs: 20_000 })
      await stillServing()
      const { responses } = await flood
      expect(responses).toHaveLength(1000)
      for (const response of responses) expect(response.head).toMatch(/^HTTP\/1\.1 200 /)
    })

    it('a client that pipelines and never reads is paused, not buffered without end', async () => {
      const before = process.memoryUsage().rss
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      const one = Buffer.from(`GET /ftc/2025/teams/${team} HTTP/1.1\r\nHost: x\r\n\r\n`)
      // Keep writing (never reading) until the socket pushes back, for at most 2 s.
      const deadline = performance.now() + 2000
      let written = 0
      while (performance.now() < deadline && written < 200_000) {
        if (!socket.write(Buffer.concat(Array.from({ length: 100 }, () => one)))) {
          await new Promise((r) => setTimeout(r, 20))
          if (socket.writableLength > 1 << 20) break
        }
        written += 100
        await new Promise((r) => setImmediate(r))
      }
      await stillServing()
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024)
      socket.destroy()
    })
  })

  it('after all of it: still serving', stillServing)
})
