import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type HeaderPairs,
  responseCodec,
  StoredResponse,
} from '../../src/gateway/response/stored-response.js'
import { type AnswerParts, WIRE_MAX_BODY_BYTES, WireAnswer } from '../../src/gateway/response/wire-answer.js'
import { writeCached } from '../../src/gateway/response/write-cached.js'
import { exchange } from './raw-exchange.js'

// Multi-byte UTF-8 on purpose: the rendered answer carries a small body as latin1 text.
const BODY = Buffer.from(JSON.stringify({ team: 'Zoë ⚽ 東京', notes: 'x'.repeat(1500) }))
// Over WIRE_MAX_BODY_BYTES: written from its bytes after the rendered head.
const BIG_BODY = Buffer.from(JSON.stringify({ team: 'Zoë ⚽ 東京', notes: 'y'.repeat(20_000) }))
// A repeated name on purpose: writeHead's list form sends both lines, and so must the rendering.
const HEADERS: HeaderPairs = [
  ['content-type', 'application/json; charset=utf-8'],
  ['etag', '"v1"'],
  ['last-modified', 'Mon, 01 Jan 2024 00:00:00 GMT'],
  ['link', '</teams?page=2>; rel="next"'],
  ['link', '</teams?page=9>; rel="last"'],
]
const FETCHED_AT = Date.UTC(2026, 10, 21, 12, 0, 0)
const CACHE_STATUS = 'cistern; hit; ttl=42; key="/k"'

/** Every request whose answer went through ServerResponse.writeHead, by URL. */
const viaWriteHead = new Set<string>()

/**
 * writeCached behind a real node:http server. `/reference` answers through writeHead(status, list)
 * + end(body) with the headers writeCached's ordinary path uses, in its order: the bytes the
 * rendered answer must equal. `/hooked` sets a header first, as a tracing hook would.
 */
function serve(stored: StoredResponse) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const writeHead = res.writeHead
    res.writeHead = ((...args: Parameters<typeof writeHead>) => {
      viaWriteHead.add(req.url!)
      return writeHead.apply(res, args)
    }) as typeof writeHead
    if (req.url === '/reference') return writeReference(req, res, stored)
    if (req.url === '/hooked') res.setHeader('x-probe', '1')
    if (req.url === '/unconnected') res.removeHeader('connection')
    try {
      writeCached(req, res, stored, { fetchedAt: FETCHED_AT }, FETCHED_AT + 5_500, 'HIT', {
        outcome: 'hit',
        ttl: 42,
        key: '/k',
      })
    } catch (error) {
      res.writeHead(500).end((error as Error).message)
    }
  }
}

function writeReference(req: IncomingMessage, res: ServerResponse, stored: StoredResponse): void {
  const { body, encoding } = stored.variant(req.headers['accept-encoding'])
  const list = [...stored.flatHeaders, 'age', '5', 'cache-status', CACHE_STATUS, 'x-cache-status', 'HIT']
  list.push('x-cache-fetched-at', new Date(FETCHED_AT).toUTCString())
  if (stored.compressible) list.push('vary', 'Accept-Encoding')
  if (encoding !== undefined) list.push('content-encoding', encoding)
  list.push('content-length', String(body.byteLength))
  res.writeHead(stored.status, list).end(body)
}

async function listen(handler: ReturnType<typeof serve>): Promise<{ server: Server; port: number }> {
  const server = createServer({ keepAliveTimeout: 65_000 }, handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

/** GET /fast, which must skip writeHead, and /reference: the same bytes but for the Date value. */
async function sameAsNode(port: number, extraHeaders: string) {
  const fast = (await exchange(port, get('/fast', extraHeaders), 1)).responses[0]!
  const reference = (await exchange(port, get('/reference', extraHeaders), 1)).responses[0]!
  expect(viaWriteHead.has('/fast')).toBe(false)
  expect(viaWriteHead.has('/reference')).toBe(true)
  expect(withoutDate(fast.bytes.toString('latin1'))).toBe(withoutDate(reference.bytes.toString('latin1')))
  return fast
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`
const withoutDate = (text: string) => text.replace(/\r\nDate: [^\r]+/, '\r\nDate: -')

describe('pre-rendered answers (one socket write per cached hit)', () => {
  let server: Server
  let port: number
  const stored = new StoredResponse(200, HEADERS, BODY)

  beforeAll(async () => {
    ;({ server, port } = await listen(serve(stored)))
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  for (const encoding of [undefined, 'gzip', 'br']) {
    it(`writes the bytes node:http writes for the same answer (${encoding ?? 'identity'})`, async () => {
      const accept = encoding ? `Accept-Encoding: ${encoding}\r\n` : ''
      const fast = await sameAsNode(port, accept)
      expect(fast.head).toMatch(/\r\nage: 5\r\n/)
      expect(fast.head).toContain(`\r\ncache-status: ${CACHE_STATUS}\r\n`)
      expect(fast.head.match(/\r\nlink: /g)).toHaveLength(2)
      expect(fast.head).toContain('\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65')
      if (encoding === undefined) expect(fast.body.equals(BODY)).toBe(true)
      else expect(fast.head).toContain(`\r\ncontent-encoding: ${encoding}\r\n`)
    })
  }

  it('writes a big body from its bytes after the rendered head, the same bytes as node:http', async () => {
    const big = await listen(serve(new StoredResponse(200, HEADERS, BIG_BODY)))
    try {
      const fast = await sameAsNode(big.port, '')
      expect(fast.body.equals(BIG_BODY)).toBe(true)
    } finally {
      big.server.close()
    }
  })

  it('answers pipelined requests whole and in order, and keeps the connection', async () => {
    const { responses, closed } = await exchange(port, get('/a') + get('/b') + get('/c'), 3, {
      closeWaitMs: 50,
    })
    expect(responses).toHaveLength(3)
    for (const response of responses) expect(response.body.equals(BODY)).toBe(true)
    expect(closed).toBe(false)
    for (const path of ['/a', '/b', '/c']) expect(viaWriteHead.has(path)).toBe(false)
  })

  it('leaves Connection: close and HTTP/1.0 to node:http, which closes as asked', async () => {
    const close = await exchange(port, get('/x', 'Connection: close\r\n'), 1, { closeWaitMs: 200 })
    expect(close.responses[0]!.head).toContain('\r\nConnection: close')
    expect(close.responses[0]!.body.equals(BODY)).toBe(true)
    expect(close.closed).toBe(true)
    const old = await exchange(port, 'GET /y HTTP/1.0\r\n\r\n', 1, { closeWaitMs: 200 })
    expect(old.responses[0]!.head).toContain('\r\nConnection: close')
    expect(old.closed).toBe(true)
    expect(viaWriteHead.has('/x') && viaWriteHead.has('/y')).toBe(true)
  })

  it('answers HEAD with the headers and no body', async () => {
    const head = `HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n`
    const { responses } = await exchange(port, head + get('/after'), 2, { bodiless: [true, false] })
    expect(responses[0]!.head).toContain(`\r\ncontent-length: ${BODY.byteLength}`)
    expect(responses[0]!.body.byteLength).toBe(0)
    expect(responses[1]!.body.equals(BODY)).toBe(true)
    expect(viaWriteHead.has('/h')).toBe(true)
    expect(viaWriteHead.has('/after')).toBe(false)
  })

  it('keeps a header a hook set before cistern wrote (through writeHead)', async () => {
    const { responses } = await exchange(port, get('/hooked'), 1)
    expect(responses[0]!.head).toContain('\r\nx-probe: 1\r\n')
    expect(responses[0]!.head).toContain(`\r\ncache-status: ${CACHE_STATUS}\r\n`)
    expect(responses[0]!.body.equals(BODY)).toBe(true)
    expect(viaWriteHead.has('/hooked')).toBe(true)
  })

  it('leaves a response whose Connection header a hook removed to writeHead, which then sends none', async () => {
    const { responses } = await exchange(port, get('/unconnected'), 1)
    expect(responses[0]!.head).not.toMatch(/\r\nconnection:/i)
    expect(responses[0]!.body.equals(BODY)).toBe(true)
    expect(viaWriteHead.has('/unconnected')).toBe(true)
  })

  it("renders the upstream's stored Date in place of the current one (RFC 9111 §4: Date is not updated)", async () => {
    const dated = new StoredResponse(200, [...HEADERS, ['date', 'Mon, 01 Jan 2024 00:00:00 GMT']], BODY)
    expect(dated.renderable).toBe(true)
    const other = await listen(serve(dated))
    try {
      const { responses } = await exchange(other.port, get('/fast'), 1)
      expect(viaWriteHead.has('/fast')).toBe(false)
      expect(responses[0]!.head.match(/\r\ndate: /gi)).toHaveLength(1)
      expect(responses[0]!.head).toContain('\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT')
      const slow = await exchange(other.port, get('/hooked'), 1)
      expect(slow.responses[0]!.head.match(/\r\ndate: /gi)).toHaveLength(1)
      expect(slow.responses[0]!.head).toContain('\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT')
    } finally {
      other.server.close()
    }
  })

  it('never writes a stored header that would split the response', async () => {
    const evil = new StoredResponse(200, [['x-evil', 'a\r\nset-cookie: stolen=1']], Buffer.from('{}'))
    expect(() => new WireAnswer(evil, PARTS, evil.body)).toThrow(/Invalid character/)
    const other = await listen(serve(evil))
    try {
      const { responses } = await exchange(other.port, get('/fast'), 1)
      expect(responses[0]!.head).toMatch(/^HTTP\/1.1 500/)
      expect(responses[0]!.head).not.toContain('set-cookie')
    } finally {
      other.server.close()
    }
  })
})

const PARTS: AnswerParts = {
  age: '1',
  cacheStatus: 'cistern; hit',
  xCacheStatus: 'HIT',
  fetchedAt: 'Sat, 21 Nov 2026 12:00:00 GMT',
  encoding: undefined,
  date: 'Sat, 21 Nov 2026 12:00:01 GMT',
  connection: 'Connection: keep-alive\r\n',
}

describe('StoredResponse.rendered', () => {
  const parts = PARTS

  it('renders again only when a part changes', () => {
    const stored = new StoredResponse(200, HEADERS, BODY)
    const first = stored.rendered(parts, BODY)
    expect(stored.rendered({ ...parts }, BODY)).toBe(first)
    const later = stored.rendered({ ...parts, age: '2', date: 'Sat, 21 Nov 2026 12:00:02 GMT' }, BODY)
    expect(later).not.toBe(first)
    expect(later.head).toContain('\r\nage: 2\r\n')
    expect(later.whole?.startsWith(later.head)).toBe(true)
    expect(later.head).toContain('\r\nDate: Sat, 21 Nov 2026 12:00:02 GMT\r\n')
    expect(Buffer.from(later.whole!, 'latin1').subarray(-BODY.byteLength).equals(BODY)).toBe(true)
  })

  it('keeps one rendering per encoding: alternating clients do not re-render each other', () => {
    const json = Buffer.from(JSON.stringify({ rows: Array.from({ length: 200 }, (_, i) => ({ i })) }))
    const stored = new StoredResponse(200, [['content-type', 'application/json']], json)
    const gzip = stored.variant('gzip')
    const br = stored.variant('gzip, br')
    const plain = stored.rendered(parts, json)
    const zipped = stored.rendered({ ...parts, encoding: 'gzip' }, gzip.body)
    const brotli = stored.rendered({ ...parts, encoding: 'br' }, br.body)
    expect(new Set([plain, zipped, brotli]).size).toBe(3)
    expect(stored.rendered({ ...parts }, json)).toBe(plain)
    expect(stored.rendered({ ...parts, encoding: 'gzip' }, gzip.body)).toBe(zipped)
    expect(stored.rendered({ ...parts, encoding: 'br' }, br.body)).toBe(brotli)
    expect(zipped.head).toContain('\r\ncontent-encoding: gzip\r\n')
    expect(Buffer.from(zipped.whole!, 'latin1').subarray(-gzip.body.byteLength).equals(gzip.body)).toBe(true)
    // The memory tier counts room for all three renderings.
    const size = responseCodec.decodedSize!(stored, json.byteLength)
    expect(size).toBeGreaterThan(json.byteLength + gzip.body.byteLength + br.body.byteLength)
  })

  it('keeps no second copy of a big body, and counts the copy it keeps of a small one', () => {
    const big = Buffer.alloc(WIRE_MAX_BODY_BYTES + 1, 0x61)
    const bigStored = new StoredResponse(200, [['content-type', 'application/octet-stream']], big)
    expect(bigStored.rendered(parts, big).whole).toBeUndefined()
    const small = new StoredResponse(200, [['content-type', 'application/octet-stream']], Buffer.alloc(100))
    const size = responseCodec.decodedSize!
    expect(size(small, 100)).toBeGreaterThan(100)
    expect(size(bigStored, big.byteLength)).toBeLessThan(1000)
  })
})
