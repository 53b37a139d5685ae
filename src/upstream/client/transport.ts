import { type Dispatcher, Pool } from 'undici'
import { CisternError } from '../../util/errors.js'
import { headerValue, singleValued } from '../../util/headers.js'
import { decodesContentEncoding, readBody } from './read-body.js'

export interface TransportOptions {
  origin: string
  /** Per-phase limits enforced by undici: connect (TCP + TLS), time to headers, idle time in the body. */
  connectMs: number
  headersMs: number
  bodyMs: number
  maxResponseSize: number
  /** Keep-alive connections to the upstream (undici Pool size). */
  connections?: number
}

export interface RawResponse {
  status: number
  /**
   * One string per field (repeated lines joined, or the first of a single-valued field: see
   * singleValued), except Set-Cookie, which keeps its lines.
   */
  headers: Record<string, string | string[] | undefined>
  /** The body with the codings cistern asked for (gzip, deflate, br) undone; any other coding is kept, with its Content-Encoding. */
  body: Buffer
}

/**
 * The body, received or decoded, was larger than limits.maxResponseSize. Our limit, not a sign the
 * upstream is down: the breaker does not count it and retrying would only fetch the same bytes again.
 */
export class ResponseTooLarge extends CisternError {
  readonly status: number
  constructor(maxBytes: number, status: number) {
    super('E_UPSTREAM_BAD_RESPONSE', `answered ${status} with a body over ${maxBytes} bytes`)
    this.name = 'ResponseTooLarge'
    this.status = status
  }
}

/**
 * One HTTP exchange with the upstream over a keep-alive undici Pool: no budget, no retries, no
 * judgement of the answer (that is the client's job). Connect, headers and body timeouts come from
 * the pool; the total timeout is the caller's `signal`.
 */
export class Transport {
  readonly #pool: Pool
  readonly #maxResponseSize: number

  constructor(options: TransportOptions) {
    this.#maxResponseSize = options.maxResponseSize
    this.#pool = new Pool(options.origin, {
      connections: options.connections ?? 64,
      connectTimeout: options.connectMs,
      headersTimeout: options.headersMs,
      bodyTimeout: options.bodyMs,
      keepAliveTimeout: 30_000,
    })
  }

  async send(call: {
    method: string
    path: string
    headers: Record<string, string>
    body: Buffer | undefined
    signal: AbortSignal
  }): Promise<RawResponse> {
    const response = await this.#pool.request({
      method: call.method as Dispatcher.HttpMethod,
      path: call.path,
      headers: call.headers,
      body: call.body ?? null,
      signal: call.signal,
    })
    const encoding = headerValue(response.headers, 'content-encoding')
    const body = await readBody(response.body, encoding, this.#maxResponseSize)
    if (body === 'too-large') throw new ResponseTooLarge(this.#maxResponseSize, response.statusCode)
    const { 'content-encoding': _ce, 'content-length': _cl, ...rest } = singleValued(response.headers)
    // A body left encoded keeps the label that says so.
    if (encoding !== undefined && !decodesContentEncoding(encoding)) rest['content-encoding'] = encoding
    return { status: response.statusCode, headers: rest, body }
  }

  close(): Promise<void> {
    return this.#pool.close()
  }
}
