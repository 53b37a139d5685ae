import type { ServerResponse } from 'node:http'
import type { AdminHandler } from '../context.js'
import type { ChangeEventLike } from '../hooks.js'
import { BASE_HEADERS, parseLimit, sendJson } from '../server/http.js'

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
 * GET /changes?route=&tag=: the change feed as server-sent events (`event: change`, the event as JSON
 * data, its id as the SSE id so Last-Event-ID resumes). Comment lines keep idle connections open
 * through proxies; without the refresh path's hook the stream carries only those.
 */
export const getChanges: AdminHandler = (ctx, { req, res, url }) => {
  res.writeHead(200, {
    ...BASE_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  res.write(
    ctx.hooks.changes ? ': cistern change feed\n\n' : ': cistern change feed (no refresh scheduler yet)\n\n',
  )
  ctx.streams.add(res)
  const lastEventId = header(req.headers['last-event-id']) ?? url.searchParams.get('lastEventId') ?? undefined
  const route = url.searchParams.get('route') ?? undefined
  const tag = url.searchParams.get('tag') ?? undefined
  const unsubscribe = ctx.hooks.changes?.((event) => writeEvent(res, event), {
    ...(lastEventId !== undefined && { lastEventId }),
    ...(route !== undefined && { route }),
    ...(tag !== undefined && { tag }),
  })
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), ctx.keepAliveMs)
  keepAlive.unref()
  const done = () => {
    clearInterval(keepAlive)
    ctx.streams.delete(res)
    unsubscribe?.()
  }
  res.once('close', done)
}

function writeEvent(res: ServerResponse, event: ChangeEventLike): void {
  // An id or JSON with a line break would end the SSE field early; JSON.stringify never emits raw newlines.
  const id = String(event.id).replace(/[\r\n]/g, '')
  res.write(`id: ${id}\nevent: change\ndata: ${JSON.stringify(event)}\n\n`)
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
