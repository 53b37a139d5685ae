export interface BackoffOptions {
  /** The ceiling of the first delay. */
  baseMs: number
  /** No delay ever exceeds this. */
  maxMs: number
  /**
   * `full` (default): uniform in [0, ceiling) — spreads retries best (AWS "full jitter").
   * `equal`: uniform in [ceiling/2, ceiling) — for pauses, which must not collapse to zero.
   */
  jitter?: 'full' | 'equal'
}

/**
 * Exponential backoff with jitter. `attempt` is how many attempts have failed so far (1 before the
 * first retry); the ceiling is min(maxMs, baseMs × 2^(attempt − 1)). `random` returns [0, 1).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const { baseMs, maxMs } = options
  if (!(baseMs >= 0) || !(maxMs >= 0)) throw new RangeError('backoffDelay: baseMs and maxMs must be >= 0')
  const exponent = Math.max(0, Math.min(Math.floor(attempt) - 1, 60))
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent)
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON)
  const delay = options.jitter === 'equal' ? ceiling / 2 + r * (ceiling / 2) : r * ceiling
  return Math.floor(delay)
}
