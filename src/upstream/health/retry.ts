import { classifyResponse } from './classify.js'
import { classifyError } from './classify-error.js'
import type { Verdict } from './outcome.js'

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Only reads are retried automatically; writes (POST, PUT, PATCH, DELETE) never are. */
export function isRetryableMethod(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase())
}

export interface RetryWindow {
  now: number
  /** Absolute time the whole request must be done by. */
  deadlineMs: number
  /** The delay before the retry would be sent (backoff, or the pause it has to wait out). */
  delayMs?: number
  /** Total attempts allowed, the first included (default 3). */
  maxAttempts?: number
}

function isVerdict(value: unknown): value is Verdict {
  return typeof value === 'object' && value !== null && 'retryable' in value && 'outcome' in value
}

/**
 * Whether to try again after `attempt` attempts have failed: only for GET/HEAD/OPTIONS, only for a
 * retryable failure (timeout, transport error, bad body, 408/429/500/502/503/504), only below
 * `maxAttempts`, and only if the retry can be sent before the deadline.
 *
 * `failure` is an HTTP status, a Verdict from classifyResponse / classifyError, or a thrown error.
 */
export function shouldRetry(method: string, attempt: number, failure: unknown, window: RetryWindow): boolean {
  if (!isRetryableMethod(method)) return false
  if (attempt >= (window.maxAttempts ?? 3)) return false
  if (window.now + (window.delayMs ?? 0) >= window.deadlineMs) return false
  const verdict = isVerdict(failure)
    ? failure
    : typeof failure === 'number'
      ? classifyResponse(failure, undefined, { now: window.now })
      : classifyError(failure)
  return verdict.retryable
}
