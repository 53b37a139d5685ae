import { createServer, type Server, type Socket } from 'node:net'

export interface RawOrigin {
  /** http://127.0.0.1:<port> */
  url: string
  port: number
  /** Requests received (one per request head read). */
  hits: number
  /** The request heads received, latin1, in order. */
  requests: string[]
  close(): Promise<void>
}

/**
 * An upstream that writes its answers byte for byte, for what node:http would never send: repeated
 * headers, malformed values, a body streamed under a lying header. `answer` gets each request head
 * and the socket; it writes the response and ends the socket itself (every answer closes its
 * connection, so no framing of its own is needed).
 */
export async function startRawOrigin(answer: (head: string, socket: Socket) => void): Promise<RawOrigin> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // A client that hangs up mid-answer is what several tests provoke on purpose.
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = buffered.slice(0, end)
      buffered = ''
      origin.hits++
      origin.requests.push(head)
      answer(head, socket)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const origin: RawOrigin = {
    url: `http://127.0.0.1:${port}`,
    port,
    hits: 0,
    requests: [],
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
  return origin
}

/** A whole response: status line, the header lines as given (repeats included), a JSON body. */
export function rawResponse(status: number, headerLines: string[], body: string): string {
  const lines = [
    `HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Status'}`,
    ...headerLines,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ]
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}
