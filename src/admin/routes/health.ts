import { rejectAfter } from '../../util/deadline.js'
import type { AdminHandler } from '../context.js'
import { sendJson } from '../server/http.js'

/** GET /healthz: the process is up and answering. */
export const getHealthz: AdminHandler = (ctx, { res }) => {
  sendJson(res, 200, { ok: true, uptimeSeconds: Math.round((ctx.now() - ctx.startedAt) / 1000) })
}

/**
 * GET /readyz: ready to serve — the config is loaded (it is, or cistern would not run) and the store
 * answers a cheap call (its counters) within the store timeout, found its file sound at open
 * (quick_check) and has had no failed call in the last 30 s (a full disk fails writes while reads still
 * answer). 503 otherwise, with the reason; cistern keeps serving from memory and the upstream meanwhile.
 */
export const getReadyz: AdminHandler = async (ctx, { res }) => {
  const store = ctx.gateway.cache.store
  const started = performance.now()
  let storeCheck: { ok: boolean; ms: number; error?: string; recentFailures?: number }
  try {
    if (store) await rejectAfter(store.stats(), ctx.config.store.timeout)
    storeCheck = { ok: true, ms: Math.round(performance.now() - started) }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    storeCheck = { ok: false, ms: Math.round(performance.now() - started), error: message }
  }
  const health = ctx.gateway.cache.storeHealth()
  if (health) {
    storeCheck.recentFailures = health.recentFailures
    if (!health.ok) {
      storeCheck.ok = false
      storeCheck.error ??= health.reason
    }
  }
  const body = {
    ok: storeCheck.ok,
    config: { ok: true, file: ctx.config.file, routes: ctx.config.routes.length },
    store: { kind: ctx.config.store.kind, ...storeCheck },
  }
  sendJson(res, storeCheck.ok ? 200 : 503, body)
}

/** GET /metrics: Prometheus text format from cistern's own registry. */
export const getMetrics: AdminHandler = async (ctx, { res }) => {
  const text = await ctx.metrics.text()
  res.writeHead(200, {
    'content-type': ctx.metrics.contentType,
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
  })
  res.end(text)
}
