/**
 * Every error cistern raises on purpose is a CisternError with a stable code, so callers (and the
 * gateway's JSON error bodies) can branch on `code` instead of parsing messages.
 */
export type ErrorCode =
  | 'E_INVALID_DURATION'
  | 'E_INVALID_SIZE'
  | 'E_INVALID_RATE'
  | 'E_INVALID_KEY'
  /** Not exactly one of key, tag or prefix, or an empty one (admin API, CLI). */
  | 'E_INVALID_SELECTOR'
  | 'E_KEY_TOO_LONG'
  | 'E_SERIALIZE'
  | 'E_FACTORY'
  | 'E_TIMEOUT'
  | 'E_STORE'
  | 'E_STORE_OPEN'
  | 'E_STORE_TIMEOUT'
  | 'E_CLOSED'
  | 'E_CONFIG'
  /** A listener could not bind its address (in use, not allowed, not this machine's). */
  | 'E_LISTEN'
  | 'E_BUDGET'
  | 'E_UPSTREAM_TIMEOUT'
  | 'E_UPSTREAM_UNAVAILABLE'
  | 'E_UPSTREAM_BAD_RESPONSE'

export class CisternError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CisternError'
    this.code = code
  }
}

/** The factory threw and no stored copy could stand in for it. */
export class FactoryError extends CisternError {
  readonly key: string
  constructor(key: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super('E_FACTORY', `factory for key "${key}" failed: ${reason}`, { cause })
    this.name = 'FactoryError'
    this.key = key
  }
}

/** The factory did not settle within hardTimeout and no stored copy could stand in for it. */
export class TimeoutError extends CisternError {
  readonly key: string
  constructor(key: string, ms: number) {
    super('E_TIMEOUT', `factory for key "${key}" did not finish within ${ms}ms`)
    this.name = 'TimeoutError'
    this.key = key
  }
}

/** A store call failed or timed out; the engine degrades to memory plus the factory. */
export class StoreError extends CisternError {
  readonly store: string
  constructor(store: string, operation: string, cause: unknown, code: ErrorCode = 'E_STORE') {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(code, `${store} store: ${operation} failed: ${reason}`, { cause })
    this.name = 'StoreError'
    this.store = store
  }
}
