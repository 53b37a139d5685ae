/**
 * The yardsticks of the economy benchmark, computed after the run from what happened (pure).
 *
 * A poller that cannot see changes must ask again to learn of one. The cheapest such poller for a
 * key with interval T calls once per T in which the key is read, and never for a key nobody reads:
 * at the first read more than T after its last call, it calls (read-through with a ttl of T). That
 * count is the **polling minimum at interval T** ("one call per hot key per refresh interval, none
 * for keys nobody reads"); every read it serves is at most T old.
 *
 * Adaptive refresh picks a different interval per key, so it is compared with the **polling
 * minimum for the staleness it reaches**: for each key, the largest T in [min, max] at which that
 * poller serves the key's reads with no more total staleness than cistern served them, and that
 * poller's calls at T; summed over keys. The poller gets to pick each key's T in hindsight, knowing
 * the key's real change times, so it is a strict yardstick: a scheduler that learns the rates can
 * only match it, not beat it by much. (A key cistern served fresher than the poller can at `min`
 * is charged the poller's calls at `min`, and counted.)
 */

/** When one key was read and when its data changed, ms, each ascending. */
export interface KeyTrace {
  reads: ArrayLike<number>
  changes: ArrayLike<number>
}

/**
 * Staleness of a read: how long before it the data changed in a way the served copy lacks (the first
 * change after the copy was fetched), 0 when the copy is current.
 */
export function readThrough(trace: KeyTrace, interval: number): { calls: number; staleMs: number } {
  const { reads, changes } = trace
  let calls = 0
  let staleMs = 0
  let fetchedAt = Number.NEGATIVE_INFINITY
  let next = 0
  let firstMissing = Number.POSITIVE_INFINITY
  for (let i = 0; i < reads.length; i++) {
    const at = reads[i]!
    if (at - fetchedAt >= interval) {
      fetchedAt = at
      calls++
      while (next < changes.length && changes[next]! <= at) next++
      firstMissing = next < changes.length ? changes[next]! : Number.POSITIVE_INFINITY
    }
    if (firstMissing <= at) staleMs += at - firstMissing
  }
  return { calls, staleMs }
}

/** `count` intervals from `min` to `max`, evenly spaced on a log scale (both included). */
export function logGrid(min: number, max: number, count = 48): number[] {
  if (max <= min) return [min]
  return Array.from({ length: count }, (_, i) => Math.round(min * (max / min) ** (i / (count - 1))))
}

export interface StalenessMinimum {
  calls: number
  /** Keys cistern served fresher than the poller can at the grid's shortest interval. */
  keysBelowMin: number
}

/**
 * The polling minimum for the staleness reached: per key, the poller's calls at the largest interval
 * of `grid` whose total staleness on that key's reads is at most `reachedStaleMs(key)`.
 */
export function pollingMinimumFor(
  traces: Iterable<{ trace: KeyTrace; reachedStaleMs: number }>,
  grid: readonly number[],
): StalenessMinimum {
  const descending = [...grid].sort((a, b) => b - a)
  let calls = 0
  let keysBelowMin = 0
  for (const { trace, reachedStaleMs } of traces) {
    if (trace.reads.length === 0) continue
    let charged: number | undefined
    let last = 0
    for (const interval of descending) {
      const run = readThrough(trace, interval)
      last = run.calls
      if (run.staleMs <= reachedStaleMs + 1e-6) {
        charged = run.calls
        break
      }
    }
    if (charged === undefined) {
      keysBelowMin++
      charged = last
    }
    calls += charged
  }
  return { calls, keysBelowMin }
}
