/** What became of one upstream call, for the breaker, retries, the call log and metrics. */
export type CallOutcome =
  /** 2xx or 3xx (a 304 included). */
  | 'ok'
  /** 4xx other than the ones below: the upstream is healthy, the request was not. */
  | 'client-error'
  /** 429: this key is over the upstream's limit. */
  | 'rate-limited'
  /** A configured status (such as a 403 "invalid IP") that means this credential is refused. */
  | 'key-rejected'
  /** 503: the upstream says it is unavailable. */
  | 'unavailable'
  /** Any other 5xx. */
  | 'server-error'
  /** An answer that is not what the route expects, such as an HTML page where JSON was due. */
  | 'bad-response'
  /** A body, received or decoded, over limits.maxResponseSize: our limit, not the upstream's health. */
  | 'too-large'
  /** Connect, headers, body or total timeout. */
  | 'timeout'
  /** Refused, reset, DNS failure and other transport errors. */
  | 'network'
  /** The caller went away; says nothing about the upstream. */
  | 'aborted'
  /** No permit in time; the call was never sent. */
  | 'budget'

/** What the breaker should make of an outcome. */
export type BreakerEffect = 'success' | 'failure' | 'neutral'

export interface Pause {
  /** Pause one key of the pool, or the whole upstream. */
  scope: 'key' | 'upstream'
  ms: number
  reason: string
  /** True when the upstream said how long (Retry-After); false when it is our backoff. */
  fromHeader: boolean
}

export interface Verdict {
  outcome: CallOutcome
  breaker: BreakerEffect
  /** Worth retrying (for an idempotent method, inside the deadline — see shouldRetry). */
  retryable: boolean
  /** Pause to apply to the budget before anything else is sent. */
  pause?: Pause
  /** The upstream's Retry-After in ms, when it sent a valid one. */
  retryAfterMs?: number
}
