import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

export type BodyRead =
  | { kind: 'ok'; body: Buffer }
  /** `size`: the declared Content-Length, or the bytes seen before reading stopped. */
  | { kind: 'too-large'; size: number }
  /** The sender went away (or the connection failed) before the body ended. */
  | { kind: 'aborted' }

/**
 * Headers for the answer to a `too-large` read. The rest of the body is never read, so the
 * connection cannot carry another request: closing it is the only way to get rid of what the
 * client is still sending (and stops a client streaming an endless body from holding the socket).
 */
export const CLOSE_CONNECTION: Readonly<Record<string, string>> = { connection: 'close' }

/**
 * The one reader of client request bodies (gateway pass-through, admin API, webhooks): the exact
 * bytes sent, up to `limit`. A declared Content-Length over the limit is refused before reading
 * anything; otherwise reading stops at the first chunk that crosses the limit. Stopping pauses the
 * request instead of destroying it (as leaving a `for await` loop would), so the caller's 413 still
 * reaches the sender; the caller answers with CLOSE_CONNECTION and node closes the socket after it.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    lingerOnClose(req)
    return Promise.resolve({ kind: 'too-large', size: declared })
  }
  // Already over: their events have fired, and waiting for them would hang.
  if (req.readableEnded) return Promise.resolve({ kind: 'ok', body: Buffer.alloc(0) })
  if (req.destroyed) return Promise.resolve({ kind: 'aborted' })
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const settle = (result: BodyRead) => {
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
        lingerOnClose(req)
        settle({ kind: 'too-large', size })
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => settle({ kind: 'ok', body: Buffer.concat(chunks, size) })
    // 'close' before 'end' (or an error): the sender went away mid-body.
    const onAbort = () => settle({ kind: 'aborted' })
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onAbort)
    req.on('close', onAbort)
  })
}

/** How long a refused body may keep arriving after the answer before the socket is cut. */
const LINGER_MS = 2_000

/**
 * Closing a socket while the client's bytes are still unread makes the kernel send a reset, which
 * can destroy the answer before the client reads it (RFC 9112 §9.6). So when node closes this
 * connection after the 413 (it calls `destroySoon` for `Connection: close`), it first only ends
 * cistern's side, discards what still arrives, and cuts the socket when the client closes its side
 * or after LINGER_MS, whichever is first: the answer arrives, the socket does not stay busy.
 */
function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket as Socket & { destroySoon?: () => void }
  if (socket.destroyed) return
  socket.destroySoon = () => {
    socket.end()
    const timer = setTimeout(() => socket.destroy(), LINGER_MS)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
    socket.once('end', () => socket.destroy())
    // The parser still owns the socket's bytes: reading the request out discards them.
    req.removeAllListeners('data')
    req.on('data', discard)
    req.resume()
  }
}

function discard(): void {}
