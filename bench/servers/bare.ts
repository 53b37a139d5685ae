/**
 * The reference: bare node:http serving the same bytes from a Map, with the same content headers a
 * cached cistern answer carries. Started as its own process by bench/gateway.ts; prints its URL.
 *
 * For the coalescing run (`--hold MS`): requests for /hold/<anything> are held until MS after the
 * first of them, then all answered at once with the 1 KB body. That is a coalescer with no overhead
 * of its own: what writing N answers costs node:http on this machine.
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { bytesBody } from '../../examples/sim-upstream/extras.js'
import { answerRaw, canAnswerRaw, connectionLines } from '../../src/gateway/response/raw-answer.js'
import { StoredResponse } from '../../src/gateway/response/stored-response.js'
import { currentHttpDate } from '../../src/util/http-date.js'
import { WaitLog } from './wait-log.js'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { hold: { type: 'string' } } })
const sizes = positionals.map(Number)
// The same bytes and the same content headers the upstream sends (and a cistern hit replays).
const answers = new Map<string, { body: Buffer; headers: string[] }>()
for (const n of sizes) {
  const prepared = bytesBody(n)
  const body = Buffer.from(prepared.body)
  const headers = [
    'content-type',
    prepared.contentType,
    'etag',
    prepared.etag,
    'last-modified',
    new Date(prepared.lastModifiedMs ?? 0).toUTCString(),
    'content-length',
    String(body.byteLength),
  ]
  answers.set(`/bytes/${n}`, { body, headers })
}

const rendered = new Map<string, StoredResponse>()
for (const n of sizes) {
  const { body, headers } = answers.get(`/bytes/${n}`)!
  const pairs: [string, string][] = []
  for (let i = 0; i < headers.length - 2; i += 2) pairs.push([headers[i]!, headers[i + 1]!])
  rendered.set(`/rendered/${n}`, new StoredResponse(200, pairs, body))
}
function sendRendered(res: ServerResponse, stored: StoredResponse): void {
  const parts = {
    age: '1',
    cacheStatus: 'cistern; hit; ttl=3599; key="/bytes/1024"',
    xCacheStatus: 'HIT',
    fetchedAt: 'Sat, 21 Nov 2026 12:00:00 GMT',
    encoding: undefined,
    date: currentHttpDate(),
    connection: connectionLines(res),
  }
  if (!canAnswerRaw(res)) throw new Error('bench/servers/bare.ts: /rendered needs a keep-alive GET')
  answerRaw(res, 200, stored.rendered(parts, stored.body), stored.body)
}

const holdMs = Number(values.hold ?? 100)
const log = new WaitLog()
let held: ServerResponse[] = []
function hold(res: ServerResponse): void {
  log.track(res)
  held.push(res)
  if (held.length > 1) return
  setTimeout(() => {
    log.ready()
    const answer = answers.get('/bytes/1024')!
    for (const waiter of held) waiter.writeHead(200, answer.headers).end(answer.body)
    held = []
  }, holdMs)
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.url?.startsWith('/hold/')) return hold(res)
  if (req.url === '/_warm') return res.end()
  if (req.url === '/_bench/waits') return res.end(JSON.stringify(log.take()))
  const stored = rendered.get(req.url ?? '')
  if (stored) return sendRendered(res, stored)
  const answer = answers.get(req.url ?? '')
  if (!answer) {
    res.writeHead(404).end()
    return
  }
  res.writeHead(200, answer.headers)
  res.end(answer.body)
})
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
// Exit through process.exit so --cpu-prof can write its profile, as bench/servers/cistern.ts does.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0))
