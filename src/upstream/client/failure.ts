import { CisternError, type ErrorCode } from '../../util/errors.js'

/**
 * Why an upstream call produced no usable answer. The gateway turns each kind into its status:
 * timeout → 504, unavailable (down, refused, 429/503, out of budget) → 503, bad-response → 502,
 * too-large (the body, received or decoded, over limits.maxResponseSize) → 502.
 */
export type FailureKind = 'timeout' | 'unavailable' | 'bad-response' | 'too-large'

const CODES: Record<FailureKind, ErrorCode> = {
  timeout: 'E_UPSTREAM_TIMEOUT',
  unavailable: 'E_UPSTREAM_UNAVAILABLE',
  'bad-response': 'E_UPSTREAM_BAD_RESPONSE',
  'too-large': 'E_UPSTREAM_BAD_RESPONSE',
}

/** What a client is told when the failure's own words are not safe to show (see `shown`). */
const SHOWN: Record<FailureKind, string> = {
  timeout: 'did not answer in time',
  unavailable: 'is unavailable',
  'bad-response': 'gave an answer that cannot be used',
  'too-large': 'answered with a body over the size limit',
}

export class UpstreamFailure extends CisternError {
  readonly kind: FailureKind
  readonly upstream: string
  /** The upstream's status when it answered at all. */
  readonly status: number | undefined
  /** When to try again, from the upstream's Retry-After or the budget. */
  readonly retryAfterMs: number | undefined
  /**
   * The upstream's own answer, when it answered and it was judged a failure (429, 5xx, not JSON).
   * Pass-through routes relay it as it was; cached routes serve a stored copy or their own error.
   */
  readonly response:
    | { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
    | undefined
  /**
   * The failure in words fit for a client: the upstream by its config name, never its address, port
   * or URL. `message` (for logs and the admin call log) keeps the transport's own words, which name
   * the address (`connect ECONNREFUSED 10.0.0.7:8443`, `getaddrinfo ENOTFOUND internal.api`).
   */
  readonly publicMessage: string

  constructor(
    upstream: string,
    kind: FailureKind,
    message: string,
    details: {
      status?: number
      retryAfterMs?: number
      cause?: unknown
      response?: UpstreamFailure['response']
      /**
       * The reason as a client may read it, when `message` could name more than the upstream's
       * config name. Only words cistern wrote itself belong here, never a caught error's message.
       */
      shown?: string
    } = {},
  ) {
    super(CODES[kind], `upstream "${upstream}": ${message}`, { cause: details.cause })
    this.name = 'UpstreamFailure'
    this.kind = kind
    this.upstream = upstream
    this.status = details.status
    this.retryAfterMs = details.retryAfterMs
    this.response = details.response
    this.publicMessage = `upstream "${upstream}" ${details.shown ?? SHOWN[kind]}`
  }
}
