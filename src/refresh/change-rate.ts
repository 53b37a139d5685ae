/**
 * How often a key's data changes, learned from what its refreshes find, and the refresh interval
 * that follows from it (`refresh: { every: adaptive, min, max }`). Pure: no clock, no I/O; the
 * scheduler feeds it one observation per refresh and stores the record with the key.
 *
 * Model: a key's changes arrive at an unknown rate λ (a Poisson process). A refresh `T` ms after the
 * previous one sees "changed" with probability 1 − e^(−λT), however many changes happened in
 * between, so the share of refreshes that find a change, not a count of changes, is what can be
 * observed. The estimator keeps exponentially decayed sums of refreshes, of those that found a change
 * and of their intervals; a few pseudo-refreshes at the target share (a prior) keep a key with
 * little history where it started. Then
 *
 *   p̂ = (changes + TARGET·PRIOR) / (refreshes + PRIOR)      share of refreshes finding a change
 *   λ̂ = −ln(1 − p̂) / T̄                                      T̄: the decayed mean interval
 *   next interval = −ln(1 − TARGET) / λ̂ = T̄ · ln(1 − TARGET) / ln(1 − p̂)
 *
 * bounded by min/max and growing at most GROWTH× per refresh. At the fixed point a refresh finds a
 * change with probability TARGET: a key that never changes drifts to `max`, one that changes every
 * minute settles near 60 s · −ln(1 − TARGET). A new key starts from its first version's age (how long
 * its data had gone unchanged, from Last-Modified) when known, else from `max`: `initialRate`.
 */

/** The share of refreshes meant to find a change: lower is fresher and costs more calls. */
export const TARGET_CHANGE_SHARE = 0.25

/** Weight the history loses per observation: about the last 1 / DECAY refreshes count. */
export const DECAY = 1 / 24

/** Pseudo-refreshes at the target share: how much a key with no history resists its first few. */
export const PRIOR_WEIGHT = 1

/** At most this factor longer per refresh, so one lucky quiet spell does not jump to `max`. */
export const GROWTH = 2

/** A key's learned change rate. Plain numbers only, so any schedule store can keep it (JSON). */
export interface ChangeRate {
  /** The refresh interval to use next, ms. */
  intervalMs: number
  /** Decayed number of refreshes observed. */
  refreshes: number
  /** Decayed number of those that found the data changed. */
  changes: number
  /** Decayed mean interval of the refreshes observed, ms. */
  meanIntervalMs: number
}

export interface AdaptiveBounds {
  min: number
  max: number
}

/**
 * Where a key with no history starts. Without more to go on, at `max`: most data changes rarely, and
 * the read that enrolled the key was served fresh; the first change a refresh finds pulls the interval
 * in (by about 3×).
 *
 * `dataAgeMs`, when known: how long the first version seen had gone unchanged when it was fetched
 * (the fetch time minus its Last-Modified, the signal RFC 9111's heuristic freshness uses). For a
 * Poisson process the time back to the last change is one exponential sample of 1/λ, so a key whose
 * data changed 40 s before it was fetched very probably changes often, one unchanged for days rarely.
 * One sample is noisy (a key changing every 6 hours shows an age under 10 minutes about one time in
 * 36), and starting a slow key short wastes calls until it has grown back, so the rate is taken at the
 * low end of what the age allows: λ_low, the rate at which an age this short or shorter happens one
 * time in four (1 − e^(−λ_low·age) = TARGET). The interval that follows, −ln(1 − TARGET) / λ_low, is
 * the age itself. An age of `max` or more starts at `max`, as does none, or a negative one (a
 * Last-Modified ahead of cistern's clock says nothing about the rate).
 */
export function initialRate(bounds: AdaptiveBounds, dataAgeMs?: number): ChangeRate {
  const known = dataAgeMs !== undefined && Number.isFinite(dataAgeMs) && dataAgeMs >= 0
  const intervalMs = Math.round(known ? clamp(dataAgeMs, bounds.min, bounds.max) : bounds.max)
  return { intervalMs, refreshes: 0, changes: 0, meanIntervalMs: intervalMs }
}

/**
 * One refresh's finding: `changed` whether the data differed from the previous version seen, after
 * `elapsedMs` since that version was seen. Returns the new record (the argument is not modified).
 */
export function observe(
  rate: ChangeRate,
  finding: { changed: boolean; elapsedMs: number },
  bounds: AdaptiveBounds,
): ChangeRate {
  const elapsed = Math.max(1, finding.elapsedMs)
  const keep = 1 - DECAY
  const refreshes = rate.refreshes * keep + 1
  const changes = rate.changes * keep + (finding.changed ? 1 : 0)
  const meanIntervalMs = (rate.meanIntervalMs * rate.refreshes * keep + elapsed) / refreshes
  const share = (changes + TARGET_CHANGE_SHARE * PRIOR_WEIGHT) / (refreshes + PRIOR_WEIGHT)
  const wanted = meanIntervalMs * (Math.log1p(-TARGET_CHANGE_SHARE) / Math.log1p(-Math.min(share, 0.999)))
  const intervalMs = Math.round(clamp(Math.min(wanted, rate.intervalMs * GROWTH), bounds.min, bounds.max))
  return { intervalMs, refreshes, changes, meanIntervalMs }
}

/** A stored record, if it is one (a schedule store may hold anything); bounds re-applied. */
export function parseRate(value: unknown, bounds: AdaptiveBounds): ChangeRate | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { intervalMs, refreshes, changes, meanIntervalMs } = value as Record<string, unknown>
  const numbers = [intervalMs, refreshes, changes, meanIntervalMs]
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0)) return undefined
  const rate = value as ChangeRate
  if (rate.changes > rate.refreshes || rate.meanIntervalMs <= 0) return undefined
  return {
    intervalMs: Math.round(clamp(rate.intervalMs, bounds.min, bounds.max)),
    refreshes: rate.refreshes,
    changes: rate.changes,
    meanIntervalMs: rate.meanIntervalMs,
  }
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value))
