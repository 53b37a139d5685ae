import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ChangeFeed } from './feed.js'
import type { ChangeEvent } from './types.js'

export const CHANGES_PATH = '/_cistern/changes'

export interface SseOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number
  /** A client this far behind (bytes not yet taken by the socket) is dropped; it can resume by id. */
  maxBufferedBytes?: number
}

/**
 * `GET /_cistern/changes` on the gateway listener: the change feed as Server-Sent Events.
 * `?route=a&route=b` (or `route=a,b`) and `?tag=x` filter; `Last-Event-ID` (or `?lastEventId=`)
 * resumes from the durable buffer. Each event is `id: <event id>`, `event: change`, `data: <json>`.
 */
export function changesHandler(feed: ChangeFeed, options: SseOptions = {}) {
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024
  const open = new Set<ServerResponse>()

  const handler = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    if (path !== CHANGES_PATH) return false
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'application/json; charset=utf-8' })
      res.end(
        JSON.stringify({
          error: { code: 'method_not_allowed', message: `${req.method} is not allowed here` },
        }),
      )
      return true
    }
    const query = new URL(req.url ?? '/', 'http://x').searchParams
    const routes = query
      .getAll('route')
      .flatMap((r) => r.split(','))
      .filter(Boolean)
    const header = req.headers['last-event-id']
    const lastEventId = (typeof header === 'string' && header) || query.get('lastEventId') || undefined
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    })
    res.write('retry: 2000\n\n')
    open.add(res)
    const send = (event: ChangeEvent) => {
      if (res.writableLength > maxBuffered) {
        res.destroy()
        return
      }
      res.write(`id: ${event.id}\nevent: change\ndata: ${JSON.stringify(event)}\n\n`)
    }
    const unsubscribe = feed.subscribe(send, {
      route: routes,
      ...(query.get('tag') && { tag: query.get('tag')! }),
      ...(lastEventId && { lastEventId }),
    })
    const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs)
    heartbeat.unref()
    res.on('close', () => {
      clearInterval(heartbeat)
      unsubscribe()
      open.delete(res)
    })
    return true
  }

  /** End every open stream (shutdown): clients reconnect elsewhere with their Last-Event-ID. */
  const closeAll = () => {
    for (const res of open) res.end()
    open.clear()
  }
  return { handler, closeAll, open: () => open.size }
}
