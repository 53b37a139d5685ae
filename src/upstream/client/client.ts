import { type Dispatcher, Pool, errors as undiciErrors } from 'undici'
import type { Budget, Lane, Permit } from '../budget/types.js'
import { type AuthSpec, applyAuth } from './auth.js'
import { UpstreamFailure } from './failure.js'
import { decodeBody, readLimited } from './read-body.js'
import { joinUnderBase, parseBase, type UpstreamBase } from './target-url.js'

export interface UpstreamTimeouts {
  connect: number
  headers: number
  body: number
  /** The whole call, from asking for a permit to the last body byte. */
  total: number
}

export interface UpstreamClientOptions {
  name: string
  url: string
  auth: AuthSpec
  timeouts: UpstreamTimeouts
  maxResponseSize: number
  /** Keep-alive connections to the upstream (undici Pool size). */
  connections?: number
  budget?: Budget
  now?: () => number
}

export interface UpstreamRequest {
  method: string
  /** Path relative to the upstream base, starting with '/', params already URL-encoded. */
  path: string
  query?: URLSearchParams
  headers?: Record<string, string>
  body?: Buffer
  lane: Lane
  signal?: AbortSignal
}

export interface UpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Identity-encoded body. */
  body: Buffer
  durationMs: number
  keyIndex: number
}

/**
 * One upstream: an undici Pool with keep-alive, its credentials and its budget. Every call asks the
 * budget first, so nothing leaves over the limit; only the configured base is ever contacted.
 */
export class UpstreamClient {
  readonly name: string
  readonly base: UpstreamBase
  readonly #options: UpstreamClientOptions
  readonly #pool: Pool
  readonly #now: () => number
  #nextKey = 0

  constructor(options: UpstreamClientOptions) {
    this.name = options.name
    this.base = parseBase(options.url)
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#pool = new Pool(this.base.origin, {
      connections: options.connections ?? 64,
      connectTimeout: options.timeouts.connect,
      headersTimeout: options.timeouts.headers,
      bodyTimeout: options.timeouts.body,
      keepAliveTimeout: 30_000,
    })
  }

  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const started = this.#now()
    const deadline = started + this.#options.timeouts.total
    const permit = await this.#permit(request.lane, deadline, request.signal)
    try {
      return await this.#send(request, permit?.keyIndex ?? this.#roundRobin(), started, deadline)
    } finally {
      permit?.release()
    }
  }

  async close(): Promise<void> {
    await this.#pool.close()
  }

  async #permit(lane: Lane, deadlineMs: number, signal?: AbortSignal): Promise<Permit | undefined> {
    const budget = this.#options.budget
    if (!budget) return undefined
    try {
      return await budget.acquire({ lane, deadlineMs, ...(signal && { signal }) })
    } catch (error) {
      const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs
      throw new UpstreamFailure(this.name, 'unavailable', 'over its rate budget', {
        cause: error,
        ...(retryAfterMs !== undefined && { retryAfterMs }),
      })
    }
  }

  async #send(request: UpstreamRequest, keyIndex: number, started: number, deadline: number) {
    const query = new URLSearchParams(request.query)
    const headers: Record<string, string> = { 'accept-encoding': 'gzip, br', ...request.headers }
    applyAuth(this.#options.auth, keyIndex, headers, query)
    const path = joinUnderBase(this.base, request.path, query)
    const timeout = AbortSignal.timeout(Math.max(1, deadline - this.#now()))
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout
    let response: Dispatcher.ResponseData
    try {
      response = await this.#pool.request({
        method: request.method as Dispatcher.HttpMethod,
        path,
        headers,
        body: request.body ?? null,
        signal,
      })
    } catch (error) {
      throw this.#classify(error, timeout.aborted)
    }
    try {
      const raw = await readLimited(response.body, this.#options.maxResponseSize)
      if (raw === undefined) {
        throw new UpstreamFailure(
          this.name,
          'bad-response',
          `body over ${this.#options.maxResponseSize} bytes`,
          {
            status: response.statusCode,
          },
        )
      }
      const encoding = response.headers['content-encoding']
      const body = await decodeBody(
        raw,
        typeof encoding === 'string' ? encoding : undefined,
        this.#options.maxResponseSize,
      )
      const { 'content-encoding': _ce, 'content-length': _cl, ...rest } = response.headers
      return { status: response.statusCode, headers: rest, body, durationMs: this.#now() - started, keyIndex }
    } catch (error) {
      if (error instanceof UpstreamFailure) throw error
      throw this.#classify(error, timeout.aborted)
    }
  }

  #classify(error: unknown, timedOut: boolean): UpstreamFailure {
    const cause = { cause: error }
    if (
      timedOut ||
      error instanceof undiciErrors.HeadersTimeoutError ||
      error instanceof undiciErrors.BodyTimeoutError
    ) {
      return new UpstreamFailure(this.name, 'timeout', 'no answer in time', cause)
    }
    if (error instanceof undiciErrors.ConnectTimeoutError) {
      return new UpstreamFailure(this.name, 'timeout', 'connect timed out', cause)
    }
    const reason = error instanceof Error ? error.message : String(error)
    return new UpstreamFailure(this.name, 'unavailable', `request failed: ${reason}`, cause)
  }

  #roundRobin(): number {
    return this.#nextKey++
  }
}
