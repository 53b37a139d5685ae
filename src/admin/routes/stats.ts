import { rejectAfter } from '../../util/deadline.js'
import type { AdminContext, AdminHandler } from '../context.js'
import { sendJson } from '../http.js'
import { type CountsView, totalView, view } from '../stats/counters.js'

/**
 * GET /stats: requests by cache status, hit rate, upstream calls and calls saved, overall and per
 * route; entries and bytes from the store (per route from a bounded, briefly kept census) and the
 * memory tier.
 */
export const getStats: AdminHandler = async (ctx, { res }) => {
  sendJson(res, 200, await collectStats(ctx))
}

/** The body of GET /stats. */
export type StatsBody = Awaited<ReturnType<typeof collectStats>>

export async function collectStats(ctx: AdminContext) {
  const counts = ctx.observer.routes()
  const timeout = ctx.config.store.timeout
  const [storeStats, census] = await Promise.all([
    ctx.gateway.cache.storeStats().catch(() => undefined),
    rejectAfter(ctx.census.get(ctx.now()), timeout * 5).catch(() => undefined),
  ])
  const routes: Record<string, CountsView & { entries: number; bytes: number }> = {}
  for (const [name, routeCounts] of counts) {
    const stored = census?.routes[name]
    routes[name] = { ...view(routeCounts), entries: stored?.entries ?? 0, bytes: stored?.bytes ?? 0 }
  }
  const now = ctx.now()
  return {
    at: now,
    uptimeSeconds: Math.round((now - ctx.startedAt) / 1000),
    totals: totalView(counts.values()),
    store: {
      kind: ctx.config.store.kind,
      reachable: storeStats !== undefined,
      entries: storeStats?.entries ?? null,
      bytes: storeStats?.bytes ?? null,
    },
    memory: ctx.gateway.cache.memoryStats(),
    routes,
    census: census ? { complete: census.complete, scanned: census.scanned, at: census.at } : null,
  }
}
