import type { Upstream } from '../../upstream/create-upstream.js'
import type { AdminContext, AdminHandler } from '../context.js'
import { parseLimit, sendJsonText } from '../server/http.js'
import { breakerSnapshot, callLogOf, displayUrl } from '../upstream-view.js'

/**
 * GET /upstreams?calls=N: per upstream its URL (no secrets), auth kind (never values), budget
 * snapshot (tokens, pauses, calls), breaker state when the breaker is wired, and recent calls —
 * from the upstream's own call log when it has one, else the fetches the admin side observed.
 */
export const getUpstreams: AdminHandler = (ctx, { res, url }) => {
  const limit = parseLimit(url.searchParams.get('calls'), 20, 200)
  const upstreams = [...ctx.gateway.upstreams.values()].map((upstream) => describe(ctx, upstream, limit))
  // Breaker errors and call records come from other modules: scrub them like a log line.
  sendJsonText(res, 200, ctx.scrubber.scrub(JSON.stringify({ upstreams })))
}

function describe(ctx: AdminContext, upstream: Upstream, limit: number) {
  const config = upstream.config
  const breaker = breakerSnapshot(upstream)
  const log = callLogOf(upstream)
  return {
    name: config.name,
    url: displayUrl(upstream),
    auth: config.auth?.kind ?? null,
    keys:
      config.auth && 'values' in config.auth
        ? config.auth.values.length
        : config.auth?.kind === 'bearer'
          ? config.auth.tokens.length
          : 1,
    limits: {
      rates: config.budget.rate.map((rate) => ({ count: rate.count, perMs: rate.perMs })),
      burst: config.budget.burst,
      concurrency: config.budget.concurrency,
      per: config.budget.per,
    },
    budget: upstream.budget?.snapshot() ?? null,
    health: breaker ? { ...breaker, available: true } : { state: null, available: false },
    recentCalls: log
      ? { source: 'upstream', calls: log.entries(limit).reverse() }
      : { source: 'cache-events', calls: ctx.observer.recentCalls.list(limit, config.name) },
  }
}
