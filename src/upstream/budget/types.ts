/**
 * The budget contract. A budget hands out permits to call an upstream and is a hard ceiling: over any
 * window of length W it grants at most `rate × W + burst` permits per bucket, whatever the traffic. The
 * in-process implementation lives in ./memory-budget.ts; a shared backend (Redis, Postgres) can
 * implement the same interface so several cistern instances share one ceiling.
 */

/** Foreground: a client is waiting. Background: refresh and warming, which only spend what is left. */
export type Lane = 'foreground' | 'background'

export interface AcquireOptions {
  lane: Lane
  /**
   * Absolute time (on the budget's clock, ms) by which the permit must be granted. When the budget can
   * compute that no permit can be had by then, `acquire` rejects at once with `BudgetExceededError`.
   */
  deadlineMs: number
  /** Aborting removes the waiter and rejects with `signal.reason`. */
  signal?: AbortSignal
}

export interface Permit {
  /** Which credential of the key pool to use (0 when the upstream has a single key). */
  readonly keyIndex: number
  readonly lane: Lane
  /** When the permit was granted (budget clock, ms). */
  readonly grantedAt: number
  /** Frees the concurrency slot. Call it when the upstream call has finished; calling twice is a no-op. */
  release(): void
}

export interface Budget {
  /** Resolves with a permit, or rejects with `BudgetExceededError` — never grants over the limit. */
  acquire(options: AcquireOptions): Promise<Permit>
  /** A permit now, or undefined. Never jumps the queue: fails while waiters of equal or higher priority wait. */
  tryAcquire(options: { lane: Lane }): Permit | undefined
  /**
   * Stop granting on one key (or all) until `untilMs` (budget clock). A pause never shortens an
   * existing one; waiters whose deadline falls inside the pause are rejected at once.
   */
  pause(key: number | 'all', untilMs: number, reason: string): void
  snapshot(): BudgetSnapshot
  /** Rejects every waiter (E_CLOSED) and stops the timer; later acquires reject too. */
  close(): void
}

export interface RateTokens {
  /** The rate as configured, e.g. `100/1000ms`. */
  rate: string
  burst: number
  /** Tokens left now, 0..burst (fractional: the bucket refills continuously). */
  tokens: number
  /** Tokens background work may never take. */
  reserve: number
}

export interface KeySnapshot {
  index: number
  /** One entry per rate. With `per: 'upstream'` every key reports the one shared bucket. */
  tokens: RateTokens[]
  pausedUntil?: number
  pauseReason?: string
  inFlight: number
  calls: { lastMinute: number; lastHour: number }
  lastGrantAt?: number
}

export interface BudgetSnapshot {
  at: number
  per: 'upstream' | 'key'
  concurrency?: number
  waiting: { foreground: number; background: number }
  keys: KeySnapshot[]
}

/**
 * The upstream ceiling several cistern instances share (a GCRA bucket per upstream or key on a store
 * server). upstream/ is a leaf that must not import stores/ (.dependency-cruiser.cjs), so this,
 * BucketRate and TakeResult are a deliberate structural copy of the ones in src/stores/coordination.ts;
 * the app hands the coordination's ceiling in. Change both together;
 * test/stores/shared-ceiling-shape.test.ts fails the typecheck when they part.
 */
export interface SharedCeiling {
  /** One permit from `bucket`, or how long until one could be had. Rejects when the server is unreachable. */
  take(bucket: string, rate: BucketRate, lane: Lane): Promise<TakeResult>
  /** Grant nothing on `bucket` for `forMs` (server clock); never shortens a longer pause. */
  pause(bucket: string, forMs: number, reason: string): Promise<void>
  /** Instances seen alive at the last heartbeat (at least 1). */
  liveInstances(): number
}

export interface BucketRate {
  intervalMs: number
  burst: number
  reserve: number
}

export type TakeResult = { granted: true } | { granted: false; retryInMs: number; pausedFor?: string }

/** A shared ceiling and whether its server answers (a coordination fits this shape). */
export interface SharedLimits {
  readonly ceiling: SharedCeiling
  /** False while the server does not answer: the budget then uses its local share without asking. */
  healthy(): boolean
}
