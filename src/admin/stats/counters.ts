/** Request and upstream-call counts of one route (or of all routes together). */
export interface Counts {
  requests: number
  hits: number
  misses: number
  stale: number
  revalidated: number
  bypass: number
  pass: number
  errors: number
  /** Upstream calls made for this route: foreground misses, background refreshes, pass-throughs. */
  upstreamCalls: number
  /** Of those, the ones that failed (error status, timeout, transport error). */
  upstreamErrors: number
  /** Calls the budget refused (never sent). */
  budgetRefusals: number
  durationMsTotal: number
}

export interface CountsView extends Counts {
  /** (hits + stale) / cacheable requests (all but pass); null before the first one. */
  hitRate: number | null
  /**
   * Upstream calls the cache saved: per route, requests − upstream calls (background refreshes
   * included), at least 0; for the totals, the sum of the routes' (so the rows add up to it).
   */
  callsSaved: number
  /** callsSaved / requests; null before the first request. */
  usageReduction: number | null
  /** Mean request duration, ms. */
  meanDurationMs: number | null
}

export function emptyCounts(): Counts {
  return {
    requests: 0,
    hits: 0,
    misses: 0,
    stale: 0,
    revalidated: 0,
    bypass: 0,
    pass: 0,
    errors: 0,
    upstreamCalls: 0,
    upstreamErrors: 0,
    budgetRefusals: 0,
    durationMsTotal: 0,
  }
}

/** Count one served request by its X-Cache-Status. */
export function countServed(counts: Counts, status: string, durationMs: number): void {
  counts.requests++
  counts.durationMsTotal += durationMs
  switch (status) {
    case 'HIT':
      counts.hits++
      return
    case 'MISS':
      counts.misses++
      return
    case 'STALE':
      counts.stale++
      return
    case 'REVALIDATED':
      counts.revalidated++
      return
    case 'BYPASS':
      counts.bypass++
      return
    case 'PASS':
      counts.pass++
      return
    default:
      counts.errors++
  }
}

/** One route's counts with the derived numbers. */
export function view(counts: Counts): CountsView {
  return derive(counts, Math.max(0, counts.requests - counts.upstreamCalls))
}

/**
 * All routes together. Calls saved are summed per route, not computed from the summed counts: a
 * route whose background refreshes outnumber its requests saves 0, and must not cancel out what
 * the other routes saved.
 */
export function totalView(all: Iterable<Counts>): CountsView {
  const routes = [...all]
  const callsSaved = routes.reduce((saved, counts) => saved + view(counts).callsSaved, 0)
  return derive(sum(routes), callsSaved)
}

function derive(counts: Counts, callsSaved: number): CountsView {
  const cacheable = counts.requests - counts.pass
  return {
    ...counts,
    durationMsTotal: round(counts.durationMsTotal),
    hitRate: cacheable > 0 ? round((counts.hits + counts.stale) / cacheable) : null,
    callsSaved,
    usageReduction: counts.requests > 0 ? round(callsSaved / counts.requests) : null,
    meanDurationMs: counts.requests > 0 ? round(counts.durationMsTotal / counts.requests) : null,
  }
}

export function sum(all: Iterable<Counts>): Counts {
  const total = emptyCounts()
  for (const counts of all) {
    for (const name of Object.keys(total) as (keyof Counts)[]) total[name] += counts[name]
  }
  return total
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000
}
