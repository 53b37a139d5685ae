import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { errorJson, JSON_CONTENT_TYPE } from '../../util/http-json.js'

/** What node's parser or timers refused, as the status and code cistern answers with. */
const ANSWERS: Record<string, [status: number, code: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'the request headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'body_too_large', 'the chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request was not received in time'],
}
const MALFORMED: [number, string, string] = [400, 'bad_request', 'malformed HTTP request']

/** How long a refused connection may take to read its answer before it is cut. */
const LINGER_MS = 1_000

/**
 * Requests node refuses before any handler sees them (malformed or smuggling-shaped framing, headers
 * too large, headers or request too slow) get a JSON error like every other cistern answer, then
 * the connection closes: after a framing error nothing more on it can be trusted.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // The client is gone, or a response is already on the wire: writing now would corrupt it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy()
      return
    }
    const [status, code, message] = ANSWERS[error.code ?? ''] ?? MALFORMED
    const body = errorJson(code, message)
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
        `content-type: ${JSON_CONTENT_TYPE}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'cache-control: no-store\r\nconnection: close\r\n\r\n' +
        body,
    )
    // end() waits for the peer to read; a client that never does must not keep the socket.
    setTimeout(() => socket.destroy(), LINGER_MS).unref()
  })
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
}
