import { CisternError, type ErrorCode } from '../../util/errors.js'

/**
 * Why an upstream call produced no usable answer. The gateway turns each kind into its status:
 * timeout → 504, unavailable (down, refused, 429/503, out of budget) → 503, bad-response → 502.
 */
export type FailureKind = 'timeout' | 'unavailable' | 'bad-response'

const CODES: Record<FailureKind, ErrorCode> = {
  timeout: 'E_UPSTREAM_TIMEOUT',
  unavailable: 'E_UPSTREAM_UNAVAILABLE',
  'bad-response': 'E_UPSTREAM_BAD_RESPONSE',
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

  constructor(
    upstream: string,
    kind: FailureKind,
    message: string,
    details: {
      status?: number
      retryAfterMs?: number
      cause?: unknown
      response?: UpstreamFailure['response']
    } = {},
  ) {
    super(CODES[kind], `upstream "${upstream}": ${message}`, { cause: details.cause })
    this.name = 'UpstreamFailure'
    this.kind = kind
    this.upstream = upstream
    this.status = details.status
    this.retryAfterMs = details.retryAfterMs
    this.response = details.response
  }
}
