import type { CallOutcome, Verdict } from './outcome.js'

const TIMEOUT = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'E_UPSTREAM_TIMEOUT',
  'E_TIMEOUT',
])
const ABORTED = new Set(['ABORT_ERR', 'UND_ERR_ABORTED'])
const BAD_RESPONSE = new Set([
  'E_UPSTREAM_BAD_RESPONSE',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  // node:zlib on a corrupt or cut-short gzip/deflate body.
  'Z_DATA_ERROR',
  'Z_BUF_ERROR',
])
/** node:zlib's brotli decoder names each format error `ERR__ERROR_FORMAT_…`. */
const BROTLI_FORMAT = /^ERR__ERROR_FORMAT_/

/** The codes and names along an error's cause chain (bounded, cycle-safe). */
function markers(error: unknown): Set<string> {
  const found = new Set<string>()
  let current: unknown = error
  for (let depth = 0; depth < 8 && current && typeof current === 'object'; depth++) {
    const { code, name, cause } = current as { code?: unknown; name?: unknown; cause?: unknown }
    if (typeof code === 'string') found.add(code)
    if (typeof name === 'string') found.add(name)
    if (cause === current) break
    current = cause
  }
  return found
}

function has(found: Set<string>, codes: Set<string>): boolean {
  for (const code of found) if (codes.has(code)) return true
  return false
}

function badBody(found: Set<string>): boolean {
  if (has(found, BAD_RESPONSE)) return true
  for (const code of found) if (BROTLI_FORMAT.test(code)) return true
  return false
}

/**
 * What a thrown error means for the breaker and retries. Looks at `code` and `name` along the cause
 * chain (undici, node:net, AbortSignal, cistern's own codes): budget refusals and caller aborts say
 * nothing about the upstream; timeouts, transport errors and bad bodies count against it.
 */
export function classifyError(error: unknown): Verdict {
  const found = markers(error)
  let outcome: CallOutcome
  if (found.has('E_BUDGET')) outcome = 'budget'
  else if (found.has('TimeoutError') || has(found, TIMEOUT)) outcome = 'timeout'
  else if (found.has('AbortError') || has(found, ABORTED)) outcome = 'aborted'
  else if (badBody(found)) outcome = 'bad-response'
  else outcome = 'network'
  if (outcome === 'budget' || outcome === 'aborted') return { outcome, breaker: 'neutral', retryable: false }
  return { outcome, breaker: 'failure', retryable: true }
}
