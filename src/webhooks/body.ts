import type { IncomingMessage } from 'node:http'

export type BodyResult =
  | { kind: 'ok'; raw: Buffer }
  /** `size`: bytes seen before reading stopped. */
  | { kind: 'too-large'; size: number }
  | { kind: 'aborted' }

/**
 * The request body as the exact bytes sent, up to `limit`. Reading stops at the first chunk that
 * crosses the limit (the caller answers 413 and closes the connection; nothing more is read).
 * Unlike `for await`, stopping does not destroy the socket, so the 413 still reaches the sender.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const settle = (result: BodyResult) => {
      if (settled) return
      settled = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onAbort)
      req.off('close', onAbort)
      resolve(result)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength
      if (size > limit) {
        req.pause()
        settle({ kind: 'too-large', size })
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => settle({ kind: 'ok', raw: Buffer.concat(chunks, size) })
    // 'close' before 'end' (or an error): the sender went away mid-body.
    const onAbort = () => settle({ kind: 'aborted' })
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onAbort)
    req.on('close', onAbort)
  })
}
