/**
 * The reference: bare node:http serving the same bytes from a Map, with the same content headers a
 * cached cistern answer carries. Started as its own process by bench/gateway.ts; prints its URL.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { bytesBody } from '../../examples/sim-upstream/extras.js'

const sizes = process.argv.slice(2).map(Number)
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

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
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
