import { headerValue } from '../../util/headers.js'
import { classifyResponse } from '../health/classify.js'
import { classifyError } from '../health/classify-error.js'
import type { Verdict } from '../health/outcome.js'
import { type FailureKind, UpstreamFailure } from './failure.js'
import { type RawResponse, ResponseTooLarge } from './transport.js'

/** One attempt, judged: a response to hand back, or the failure to retry or throw. */
export interface Judgement {
  verdict: Verdict
  /** Undefined when the response is an answer (2xx, 3xx, most 4xx). */
  failure: UpstreamFailure | undefined
}

export interface JudgeContext {
  upstream: string
  method: string
  /** Budget clock, for HTTP-date Retry-After values. */
  now: number
  expectJson: boolean
  /** Statuses besides 429 that mean "this key is refused" (upstream `pauseOn`). */
  keyRejectStatuses: readonly number[]
  /** 429s in a row on this key, this one included: the exponent of the backoff without Retry-After. */
  rateLimitStreak: number
  random?: () => number
}

/**
 * What an upstream answer means. 429, the `pauseOn` statuses and 5xx are failures (the caller gets a
 * stored copy or a 502/503/504); so is a 2xx that is not JSON when JSON is expected (FTC Events
 * answers some errors as an HTML page with 200). Everything else is an answer, 4xx included.
 */
export function judgeResponse(response: RawResponse, ctx: JudgeContext): Judgement {
  const { status, headers } = response
  const invalidBody =
    ctx.expectJson &&
    ctx.method !== 'HEAD' &&
    status >= 200 &&
    status < 300 &&
    status !== 204 &&
    !isJsonBody(response)
  const verdict = classifyResponse(status, headers, {
    now: ctx.now,
    keyRejectStatuses: ctx.keyRejectStatuses,
    attempt: ctx.rateLimitStreak,
    invalidBody,
    ...(ctx.random && { random: ctx.random }),
  })
  if (verdict.outcome === 'ok' || verdict.outcome === 'client-error') return { verdict, failure: undefined }
  const retryAfterMs = verdict.pause?.ms ?? verdict.retryAfterMs
  const details = { status, response, ...(retryAfterMs !== undefined && { retryAfterMs }) }
  // Every reason below is cistern's own words about the status: safe to show a client as it is.
  let kind: FailureKind
  let reason: string
  if (verdict.outcome === 'bad-response') {
    kind = 'bad-response'
    reason = `answered ${status} with a body that is not JSON`
  } else if (status === 504) {
    kind = 'timeout'
    reason = 'answered 504'
  } else {
    kind = verdict.outcome === 'server-error' ? 'bad-response' : 'unavailable'
    reason = `answered ${status}${verdict.pause ? ` (${verdict.pause.reason})` : ''}`
  }
  const failure = new UpstreamFailure(ctx.upstream, kind, reason, { ...details, shown: reason })
  return { verdict, failure }
}

/**
 * A thrown error of one attempt. Which signal fired decides between our total timeout and the caller
 * going away, whatever error undici chose to throw for the abort.
 */
export function judgeError(
  error: unknown,
  ctx: { upstream: string; timedOut: boolean; callerAborted: boolean },
): Judgement {
  const cause = { cause: error }
  if (ctx.callerAborted) {
    return {
      verdict: { outcome: 'aborted', breaker: 'neutral', retryable: false },
      failure: new UpstreamFailure(ctx.upstream, 'unavailable', 'call aborted by its caller', cause),
    }
  }
  if (error instanceof ResponseTooLarge) {
    // The upstream is up (it answered); the answer is over our limit, and would be again.
    return {
      verdict: { outcome: 'too-large', breaker: 'success', retryable: false },
      failure: new UpstreamFailure(ctx.upstream, 'too-large', error.message, {
        ...cause,
        status: error.status,
        shown: error.message,
      }),
    }
  }
  const verdict: Verdict = ctx.timedOut
    ? { outcome: 'timeout', breaker: 'failure', retryable: true }
    : classifyError(error)
  // The transport's words name the address (`connect ECONNREFUSED 10.0.0.7:8443`): logs only.
  const reason = error instanceof Error ? error.message : String(error)
  const failure =
    verdict.outcome === 'timeout'
      ? new UpstreamFailure(ctx.upstream, 'timeout', `no answer in time (${reason})`, cause)
      : verdict.outcome === 'bad-response'
        ? new UpstreamFailure(ctx.upstream, 'bad-response', `unreadable answer: ${reason}`, {
            ...cause,
            shown: 'sent an answer that cannot be read',
          })
        : new UpstreamFailure(ctx.upstream, 'unavailable', `request failed: ${reason}`, {
            ...cause,
            shown: 'is unreachable',
          })
  return { verdict, failure }
}

/** JSON by its content-type (when it has one) and by its bytes. */
export function isJsonBody(response: RawResponse): boolean {
  const type = headerValue(response.headers, 'content-type')
  if (type !== undefined && !/json/i.test(type)) return false
  try {
    JSON.parse(response.body.toString('utf8'))
    return true
  } catch {
    return false
  }
}
