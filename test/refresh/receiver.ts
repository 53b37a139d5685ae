import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
}

/** A local webhook receiver: answers `status` (settable), records what it accepted. */
export interface Receiver {
  url: string
  port: number
  received: Received[]
  /** Requests answered with a non-2xx status. */
  refused: number
  status: number
  /** Stop listening (deliveries then fail to connect); `up()` listens again on the same port. */
  down(): Promise<void>
  up(): Promise<void>
  close(): Promise<void>
}

export async function startReceiver(port = 0): Promise<Receiver> {
  let server: Server | undefined
  const r: Receiver = {
    url: '',
    port,
    received: [],
    refused: 0,
    status: 200,
    async down() {
      const s = server
      server = undefined
      if (!s) return
      s.closeAllConnections()
      await new Promise((resolve) => s.close(resolve))
    },
    async up() {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', () => {
          if (r.status >= 200 && r.status < 300) {
            r.received.push({
              path: req.url ?? '/',
              headers: req.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            })
          } else r.refused++
          res.writeHead(r.status).end()
        })
      })
      await new Promise<void>((resolve) => s.listen(r.port, '127.0.0.1', resolve))
      r.port = (s.address() as AddressInfo).port
      r.url = `http://127.0.0.1:${r.port}`
      server = s
    },
    close: () => r.down(),
  }
  await r.up()
  return r
}
