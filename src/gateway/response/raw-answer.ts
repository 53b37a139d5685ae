import { type ServerResponse, STATUS_CODES } from 'node:http'

/**
 * The ServerResponse state node:http keeps for itself (node 20 to 24). `_header` is the serialised
 * head that `end()` sends in front of the body; the others are what node's own `_storeHeader`
 * consults to choose between keep-alive and close.
 */
interface ResponseInternals {
  _header: string | null
  _keepAliveTimeout?: number
  _maxRequestsPerSocket?: number
  _expect_continue?: boolean
  _removedConnection?: boolean
  _removedContLen?: boolean
  _removedTE?: boolean
  maxRequestsOnConnectionReached?: boolean
}

/**
 * Whether a whole pre-rendered answer (see WireAnswer) may replace node:http's header writing for
 * this response: a persistent connection with node's default keep-alive wording, nothing written,
 * set or removed yet (a tracing hook's header would be lost), and a plain request. Anything else takes the
 * ordinary writeHead path, which handles every case.
 */
export function canAnswerRaw(res: ServerResponse): boolean {
  const internals = res as unknown as ResponseInternals
  return (
    res.shouldKeepAlive &&
    res.sendDate &&
    internals._header === null &&
    internals.maxRequestsOnConnectionReached !== true &&
    internals._expect_continue !== true &&
    internals._removedConnection !== true &&
    internals._removedContLen !== true &&
    internals._removedTE !== true &&
    !(Number(internals._maxRequestsPerSocket) > 0) &&
    res.getHeaderNames().length === 0
  )
}

/** The Connection lines node:http writes on a keep-alive response of this server. */
export function connectionLines(res: ServerResponse): string {
  const timeout = (res as unknown as ResponseInternals)._keepAliveTimeout
  if (timeout === undefined || timeout <= 0) return KEEP_ALIVE
  if (timeout !== lastTimeout) {
    lastTimeout = timeout
    lastLines = `${KEEP_ALIVE}Keep-Alive: timeout=${Math.floor(timeout / 1000)}\r\n`
  }
  return lastLines
}
const KEEP_ALIVE = 'Connection: keep-alive\r\n'
let lastTimeout = Number.NaN
let lastLines = KEEP_ALIVE

/**
 * Send a rendered answer as the response. node:http still owns the response: `end()` writes the
 * rendered text (for a small body, head and body in one socket write; else the head, then the body
 * bytes in the same corked write), emits 'finish' and moves the connection on to its next request,
 * exactly as after writeHead() + end(body).
 */
export function answerRaw(
  res: ServerResponse,
  status: number,
  answer: { head: string; whole: string | undefined },
  body: Buffer,
): void {
  res.statusCode = status
  res.statusMessage = STATUS_CODES[status] ?? 'unknown'
  const internals = res as unknown as ResponseInternals
  if (answer.whole !== undefined) {
    internals._header = answer.whole
    res.end()
  } else {
    internals._header = answer.head
    res.end(body)
  }
}
