export { type HeaderBag, headerValue } from '../../util/headers.js'
export { type BackoffOptions, backoffDelay } from './backoff.js'
export {
  Breaker,
  type BreakerChange,
  type BreakerOptions,
  type BreakerSnapshot,
  type BreakerState,
} from './breaker.js'
export { CallLog, type CallRecord } from './call-log.js'
export { type ClassifyOptions, classifyResponse, parseRetryAfter } from './classify.js'
export { classifyError } from './classify-error.js'
export type { BreakerEffect, CallOutcome, Pause, Verdict } from './outcome.js'
export { isRetryableMethod, type RetryWindow, shouldRetry } from './retry.js'
export { type LastError, snapshotUpstream, type UpstreamSnapshot } from './snapshot.js'
