import type { AuthConfig } from '../../config/types.js'
import { UpstreamFailure } from './failure.js'
import { Transport } from './transport.js'

export type OAuth2Config = Extract<AuthConfig, { kind: 'oauth2' }>

export interface OAuth2Options {
  /** The upstream's name, for error messages. */
  upstream: string
  /** Clock for the token's expiry (the client's budget clock). */
  now: () => number
  /** Connect, headers and body limits for the token call (the upstream's own). */
  timeouts: { connect: number; headers: number; body: number; total: number }
}

/** A token response larger than this is refused: a real one is a few KB at most. */
const MAX_TOKEN_RESPONSE = 64 * 1024
/** Renew this long before `expires_in` runs out (at most half the lifetime for short-lived tokens). */
const RENEW_MARGIN_MS = 60_000
/** Without `expires_in` a token is kept until the upstream refuses it with a 401. */
const NO_EXPIRY = Number.POSITIVE_INFINITY

/**
 * An OAuth 2.0 client-credentials access token (RFC 6749 §4.4) for one upstream: fetched from the
 * configured `tokenUrl` on first use, shared by every call, renewed shortly before `expires_in` runs
 * out, and forgotten when the upstream answers 401 with it (the client then retries once with a new
 * one). Concurrent callers share one token request. The client secret and the tokens never appear in
 * errors or logs; only the token endpoint's `error` code does.
 */
export class OAuth2Token {
  readonly #config: OAuth2Config
  readonly #options: OAuth2Options
  readonly #url: URL
  readonly #transport: Transport
  #cached: { token: string; renewAt: number } | undefined
  #pending: Promise<string> | undefined

  constructor(config: OAuth2Config, options: OAuth2Options) {
    this.#config = config
    this.#options = options
    this.#url = new URL(config.tokenUrl)
    const { connect, headers, body } = options.timeouts
    this.#transport = new Transport({
      origin: this.#url.origin,
      connectMs: connect,
      headersMs: headers,
      bodyMs: body,
      maxResponseSize: MAX_TOKEN_RESPONSE,
      connections: 2,
    })
  }

  /** A valid access token: the cached one, or a new one from the token endpoint. */
  get(): Promise<string> {
    const cached = this.#cached
    if (cached && this.#options.now() < cached.renewAt) return Promise.resolve(cached.token)
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  /** The upstream refused `token` (401): forget it, unless a newer one has replaced it already. */
  reject(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined
  }

  close(): Promise<void> {
    return this.#transport.close()
  }

  async #fetch(): Promise<string> {
    const { clientId, clientSecret, scope, clientAuth } = this.#config
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (scope) form.set('scope', scope)
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }
    if (clientAuth === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
      const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`
    } else {
      form.set('client_id', clientId)
      form.set('client_secret', clientSecret)
    }
    const requestedAt = this.#options.now()
    let status: number
    let body: Buffer
    try {
      ;({ status, body } = await this.#transport.send({
        method: 'POST',
        path: this.#url.pathname + this.#url.search,
        headers,
        body: Buffer.from(form.toString()),
        signal: AbortSignal.timeout(this.#options.timeouts.total),
      }))
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      throw this.#failure('unavailable', `token request to ${this.#url.origin} failed: ${why}`, error)
    }
    const parsed = parseJson(body)
    if (status !== 200) {
      // RFC 6749 §5.2: `error` is a short ASCII code such as invalid_client; safe to show.
      const code = typeof parsed?.error === 'string' ? ` (${parsed.error.slice(0, 64)})` : ''
      const kind = status >= 500 || status === 429 ? 'unavailable' : 'bad-response'
      throw this.#failure(kind, `token endpoint answered ${status}${code}`, undefined, status)
    }
    const token = parsed?.access_token
    const type = parsed?.token_type
    if (typeof token !== 'string' || token.length === 0 || /[\r\n]/.test(token)) {
      throw this.#failure('bad-response', 'token endpoint answered without a usable access_token')
    }
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
      throw this.#failure('bad-response', `token endpoint issued a "${type.slice(0, 32)}" token, not Bearer`)
    }
    this.#cached = { token, renewAt: renewAt(requestedAt, parsed?.expires_in) }
    return token
  }

  #failure(kind: 'unavailable' | 'bad-response', message: string, cause?: unknown, status?: number) {
    return new UpstreamFailure(this.#options.upstream, kind, message, {
      ...(cause !== undefined && { cause }),
      ...(status !== undefined && { status }),
    })
  }
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * When to fetch a new token: `expires_in` seconds after the request was sent (not answered, so a
 * slow token endpoint never makes us overrun), less a margin. Some servers send the number as a string.
 */
function renewAt(requestedAt: number, expiresIn: unknown): number {
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return NO_EXPIRY
  const lifetime = seconds * 1000
  return requestedAt + lifetime - Math.min(RENEW_MARGIN_MS, lifetime / 2)
}
