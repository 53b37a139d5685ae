import type { Upstream } from '../../upstream/create-upstream.js'
import type { AdminContext, AdminHandler } from '../context.js'
import { parseLimit, sendJsonText } from '../http.js'
import { breakerSnapshot, displayUrl, recentCalls, upstreamSnapshot } from '../upstream-view.js'

/**
 * GET /upstreams?calls=N: per upstream its URL (no secrets), auth kind (never values), limits, budget
 * snapshot (tokens, pauses, calls in the last minute and hour), breaker state (UP/DOWN/PROBING) and
 * last error, and recent calls — from the upstream's call log, else the fetches the admin side saw.
 */
export const getUpstreams: AdminHandler = (ctx, { res, url }) => {
  const limit = parseLimit(url.searchParams.get('calls'), 20, 200)
  const upstreams = [...ctx.gateway.upstreams.values()].map((upstream) => describe(ctx, upstream, limit))
  // Error messages and call records come from other modules: scrub them like a log line.
  sendJsonText(res, 200, ctx.scrubber.scrub(JSON.stringify({ upstreams })))
}

/** One upstream in the body of GET /upstreams. */
export type UpstreamBody = ReturnType<typeof describe>

function describe(ctx: AdminContext, upstream: Upstream, limit: number) {
  const config = upstream.config
  const breaker = breakerSnapshot(upstream)
  const snapshot = upstreamSnapshot(upstream)
  const calls = recentCalls(upstream, limit)
  return {
    name: config.name,
    url: displayUrl(upstream),
    auth: config.auth?.kind ?? null,
    limits: {
      rates: config.budget.rate.map((rate) => ({ count: rate.count, perMs: rate.perMs })),
      burst: config.budget.burst,
      concurrency: config.budget.concurrency,
      per: config.budget.per,
    },
    budget: upstream.budget?.snapshot() ?? null,
    health: {
      available: breaker !== undefined,
      state: breaker?.state ?? null,
      since: breaker?.since ?? null,
      consecutiveFailures: breaker?.consecutiveFailures ?? null,
      nextProbeAt: breaker?.nextProbeAt ?? null,
      lastError: snapshot?.lastError ?? breaker?.lastError ?? null,
      refused: snapshot?.refused ?? null,
    },
    recentCalls: calls
      ? { source: 'upstream', calls }
      : { source: 'cache-events', calls: ctx.observer.recentCalls.list(limit, config.name) },
  }
}
