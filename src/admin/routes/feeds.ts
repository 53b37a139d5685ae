import type { AdminHandler } from '../context.js'
import { AdminError, parseLimit, sendJson } from '../http.js'

/** GET /queue: due refreshes and lag per priority, from the scheduler's hook (empty until it lands). */
export const getQueue: AdminHandler = async (ctx, { res }) => {
  const queue = ctx.hooks.queue ? await ctx.hooks.queue() : undefined
  sendJson(res, 200, {
    available: queue !== undefined,
    items: queue?.items ?? [],
    priorities: queue?.priorities ?? {},
    whileErrors: queue?.whileErrors ?? [],
  })
}

/** GET /events?limit=&cursor=: webhooks received, from the webhook receiver's hook. */
export const getEvents: AdminHandler = async (ctx, { res, url }) => {
  const limit = parseLimit(url.searchParams.get('limit'), 50, 500)
  const cursor = url.searchParams.get('cursor') ?? undefined
  const page = ctx.hooks.events
    ? await ctx.hooks.events({ limit, ...(cursor !== undefined && { cursor }) })
    : undefined
  sendJson(res, 200, {
    available: page !== undefined,
    events: page?.events ?? [],
    cursor: page?.cursor ?? null,
  })
}

/**
 * GET /changes?route=&tag=: the change feed as server-sent events, written by the refresh path's
 * SSE writer (heartbeat, Last-Event-ID resume or reset, connection cap, slow clients dropped). The
 * stream is tracked here so closing the admin listener ends it.
 */
export const getChanges: AdminHandler = (ctx, { req, res }) => {
  const serve = ctx.hooks.changes
  if (!serve)
    throw new AdminError(503, 'feed_unavailable', 'no change feed is attached to this admin listener')
  ctx.streams.add(res)
  res.once('close', () => ctx.streams.delete(res))
  serve(req, res)
}
