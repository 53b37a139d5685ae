import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http'

/**
 * Bodies up to this size are kept inside the rendered answer too, so a hit is one string and one
 * write; a bigger body is written from its bytes after the rendered head (a copy would cost more
 * memory than it saves time).
 */
export const WIRE_MAX_BODY_BYTES = 16 * 1024

/** What changes between two answers from one stored response. Equal parts give equal bytes. */
export interface AnswerParts {
  age: string
  cacheStatus: string
  xCacheStatus: string
  fetchedAt: string
  encoding: 'br' | 'gzip' | undefined
  /** The HTTP-date of this second (the Date header, when the stored answer has none of its own). */
  date: string
  /** Cistern's own Cache-Control for the client, in place of the stored one (undefined: the stored one). */
  cacheControl?: string | undefined
  /** The Connection (and Keep-Alive) lines for a persistent connection, CRLF-terminated. */
  connection: string
}

/** The stored response's own part of the answer. */
export interface RenderedFrom {
  status: number
  flatHeaders: readonly string[]
  compressible: boolean
  /** The upstream's Date, sent instead of the current one. */
  date?: string | undefined
}

/**
 * An HTTP/1.1 answer rendered ahead: the head node:http would write for the same status and
 * headers, in the same order, and for a small body the whole answer (head and body) as one latin1
 * string, so a hit costs no header processing and, when small, one socket write. A stored response
 * keeps the last one it rendered and reuses it while the parts stay equal: Age, Date and the ttl in
 * Cache-Status move once a second, so a hot key is rendered about once a second, and the waiters
 * on one coalesced fetch share one rendering.
 */
export class WireAnswer {
  readonly parts: AnswerParts
  /** Status line, headers and the blank line. */
  readonly head: string
  /** head + body, for bodies up to WIRE_MAX_BODY_BYTES. */
  readonly whole: string | undefined

  constructor(stored: RenderedFrom, parts: AnswerParts, body: Buffer) {
    this.parts = parts
    const { status, flatHeaders } = stored
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`
    const ownCacheControl = parts.cacheControl !== undefined
    for (let i = 0; i < flatHeaders.length; i += 2) {
      const name = flatHeaders[i]!
      if (ownCacheControl && name === 'cache-control') continue
      head += line(name, flatHeaders[i + 1]!)
    }
    if (ownCacheControl) head += line('cache-control', parts.cacheControl!)
    head += line('age', parts.age)
    head += line('cache-status', parts.cacheStatus)
    head += line('x-cache-status', parts.xCacheStatus)
    head += line('x-cache-fetched-at', parts.fetchedAt)
    if (stored.compressible) head += line('vary', 'Accept-Encoding')
    if (parts.encoding !== undefined) head += line('content-encoding', parts.encoding)
    head += line('content-length', String(body.byteLength))
    this.head = `${head}Date: ${stored.date ?? parts.date}\r\n${parts.connection}\r\n`
    // latin1 maps every byte to one char and back, so the body goes out exactly as stored.
    this.whole = body.byteLength <= WIRE_MAX_BODY_BYTES ? this.head + body.toString('latin1') : undefined
  }

  matches(parts: AnswerParts): boolean {
    const mine = this.parts
    return (
      mine.age === parts.age &&
      mine.cacheStatus === parts.cacheStatus &&
      mine.xCacheStatus === parts.xCacheStatus &&
      mine.fetchedAt === parts.fetchedAt &&
      mine.encoding === parts.encoding &&
      mine.date === parts.date &&
      mine.cacheControl === parts.cacheControl &&
      mine.connection === parts.connection
    )
  }
}

/** One header line, checked as node:http checks it, so a stored header can never split the response. */
function line(name: string, value: string): string {
  validateHeaderName(name)
  validateHeaderValue(name, value)
  return `${name}: ${value}\r\n`
}
