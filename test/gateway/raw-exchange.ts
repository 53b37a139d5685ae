import { connect } from 'node:net'

export interface RawResponse {
  /** Status line and header lines, as sent (latin1), without the blank line. */
  head: string
  body: Buffer
  /** head + CRLF CRLF + body, as sent. */
  bytes: Buffer
}

/**
 * Write `request` (one or more pipelined requests) on one new connection and read `count` whole
 * responses, framed by Content-Length (HEAD answers by `bodiless`). Also reports whether the server
 * closed the connection within `closeWaitMs` after the last one. Bounded by `timeoutMs`.
 */
export function exchange(
  port: number,
  request: string,
  count: number,
  options: { bodiless?: boolean[]; closeWaitMs?: number; timeoutMs?: number } = {},
): Promise<{ responses: RawResponse[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let buffered = Buffer.alloc(0)
    const responses: RawResponse[] = []
    let closed = false
    let settled = false
    const finish = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ responses, closed })
    }
    const timer = setTimeout(() => {
      settled = true
      socket.destroy()
      reject(new Error(`timed out with ${responses.length} of ${count} responses`))
    }, options.timeoutMs ?? 5000)
    const parse = () => {
      while (responses.length < count) {
        const end = buffered.indexOf('\r\n\r\n')
        if (end === -1) return
        const head = buffered.subarray(0, end).toString('latin1')
        const length = /\r\ncontent-length: *(\d+)/i.exec(head)
        const bodyLength = options.bodiless?.[responses.length] ? 0 : Number(length?.[1] ?? 0)
        const total = end + 4 + bodyLength
        if (buffered.length < total) return
        responses.push({
          head,
          body: Buffer.from(buffered.subarray(end + 4, total)),
          bytes: Buffer.from(buffered.subarray(0, total)),
        })
        buffered = buffered.subarray(total)
      }
      setTimeout(finish, options.closeWaitMs ?? 0)
    }
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      parse()
    })
    socket.on('end', () => {
      closed = true
      if (responses.length >= count) finish()
    })
    socket.on('error', reject)
  })
}
