import zlib from 'node:zlib'
import type { Codec } from '../../engine/codec.js'
import type { EntryInfo, EntryMeta } from '../../model/entry.js'
import { type AnswerParts, WIRE_MAX_BODY_BYTES, WireAnswer } from './wire-answer.js'

export type HeaderPairs = [string, string][]

/** What the gateway keeps in an entry's metadata besides the body bytes. */
/**
 * Besides status and headers, `initialAge`: the answer's age when cistern received it, seconds (RFC
 * 9111 §4.2.3); absent when 0.
 */
export interface ResponseMeta extends EntryMeta {
  status: number
  headers: HeaderPairs
}

const NODE_MANAGED = new Set(['connection', 'content-length', 'expect', 'trailer', 'transfer-encoding'])
/** Bodies smaller than this are sent as they are: compressing them saves less than it costs. */
const COMPRESS_MIN_BYTES = 1024
const COMPRESSIBLE = /json|text|javascript|xml|csv|yaml/i

/**
 * A cached upstream response, ready to write: status, the upstream headers worth keeping, and the
 * identity body. gzip and br variants are computed once, on the first request that accepts them,
 * and then kept with the record for every later hit.
 */
export class StoredResponse {
  readonly status: number
  readonly headers: HeaderPairs
  readonly body: Buffer
  readonly etag: string | undefined
  readonly lastModified: string | undefined
  readonly compressible: boolean
  /** The upstream's Date: sent as it is, never replaced (RFC 9110 §6.6.1, RFC 9111 §4). */
  readonly date: string | undefined
  /** The answer's age when cistern received it, seconds: the Age sent is this plus the time held. */
  readonly initialAge: number
  /** The stored headers but Date as a flat [name, value, ...] list, the shape writeHead takes. */
  readonly flatHeaders: readonly string[]
  /**
   * None of the stored headers is one node:http acts on when it writes a head (framing, Connection,
   * Keep-Alive): only then can a rendered answer be byte-for-byte what writeHead would send.
   * keepHeaders drops all of them, so this holds for every response the gateway stores.
   */
  readonly renderable: boolean
  #gzip: Buffer | undefined
  #br: Buffer | undefined
  /**
   * The last answer rendered for each encoding (identity, gzip, br): clients that differ only in
   * Accept-Encoding (a curl and a mobile app on one hot key) do not re-render each other's answers.
   */
  readonly #wire: (WireAnswer | undefined)[] = [undefined, undefined, undefined]

  constructor(status: number, headers: HeaderPairs, body: Buffer, initialAge = 0) {
    this.status = status
    this.headers = headers
    this.body = body
    this.initialAge = initialAge
    this.etag = headerOf(headers, 'etag')
    this.lastModified = headerOf(headers, 'last-modified')
    this.date = headerOf(headers, 'date')
    // A body the upstream encoded itself (a coding cistern does not decode) is sent as it came.
    this.compressible =
      body.byteLength >= COMPRESS_MIN_BYTES &&
      COMPRESSIBLE.test(headerOf(headers, 'content-type') ?? '') &&
      headerOf(headers, 'content-encoding') === undefined
    this.flatHeaders = headers.filter(([name]) => name !== 'date').flat()
    this.renderable = headers.every(([name]) => !NODE_MANAGED.has(name.toLowerCase()))
  }

  get meta(): ResponseMeta {
    return {
      status: this.status,
      headers: this.headers,
      ...(this.initialAge > 0 && { initialAge: this.initialAge }),
    }
  }

  /** The body in the best encoding the client accepts: br, then gzip, else identity. */
  variant(acceptEncoding: string | undefined): { body: Buffer; encoding: 'br' | 'gzip' | undefined } {
    if (!this.compressible || acceptEncoding === undefined) return { body: this.body, encoding: undefined }
    if (accepts(acceptEncoding, 'br')) {
      this.#br ??= zlib.brotliCompressSync(this.body, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 5,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: this.body.byteLength,
        },
      })
      return { body: this.#br, encoding: 'br' }
    }
    if (accepts(acceptEncoding, 'gzip')) {
      this.#gzip ??= zlib.gzipSync(this.body, { level: 6 })
      return { body: this.#gzip, encoding: 'gzip' }
    }
    return { body: this.body, encoding: undefined }
  }

  /** The answer rendered for these parts (`body` is the variant they name), reused while they hold. */
  rendered(parts: AnswerParts, body: Buffer): WireAnswer {
    const slot = parts.encoding === undefined ? 0 : parts.encoding === 'gzip' ? 1 : 2
    let answer = this.#wire[slot]
    if (answer === undefined || !answer.matches(parts)) {
      answer = new WireAnswer(this, parts, body)
      this.#wire[slot] = answer
    }
    return answer
  }
}

export function headerOf(headers: HeaderPairs, name: string): string | undefined {
  for (const [key, value] of headers) if (key === name) return value
  return undefined
}

/** `gzip` in `gzip, deflate, br;q=0` with a non-zero q. */
function accepts(header: string, coding: string): boolean {
  const at = header.indexOf(coding)
  if (at === -1) return false
  const rest = header.slice(at + coding.length).split(',', 1)[0]!
  const q = /;\s*q=([0-9.]+)/.exec(rest)
  return q === null || Number(q[1]) > 0
}

/** Entries hold the identity body as bytes and status plus headers as metadata. */
export const responseCodec: Codec<StoredResponse> = {
  encode: (response) => response.body,
  decode(bytes: Uint8Array, entry: EntryInfo) {
    const meta = entry.meta as ResponseMeta | undefined
    const body = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const initialAge = typeof meta?.initialAge === 'number' ? meta.initialAge : 0
    return new StoredResponse(meta?.status ?? 200, meta?.headers ?? [], body, initialAge)
  },
  decodedSize: extraBytes,
}

/**
 * What a decoded response holds beyond the entry's body bytes: the header pairs; the rendered
 * identity answer (its head, and for a small body a copy of the body); for a compressible body, room
 * for the gzip and br variants made on demand and for their rendered answers (JSON usually shrinks
 * to well under half each, so the two variants together fit in the body's size, and so do their
 * rendered copies).
 */
function extraBytes(response: StoredResponse): number {
  let bytes = 0
  for (const [name, value] of response.headers) bytes += (name.length + value.length) * 2 + 48
  const size = response.body.byteLength
  bytes += WIRE_HEAD_ALLOWANCE + (size <= WIRE_MAX_BODY_BYTES ? size : 0)
  if (response.compressible) {
    bytes += size + 2 * WIRE_HEAD_ALLOWANCE + Math.min(size, 2 * WIRE_MAX_BODY_BYTES)
  }
  return bytes
}
/** A rendered head: the stored headers are counted above; this covers the status line and cistern's own. */
const WIRE_HEAD_ALLOWANCE = 512
