import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FeedConfig } from '../config/types.js'
import type { ExtraHandler } from '../gateway/server/context.js'
import { sendJsonError } from '../util/http-json.js'
import { TokenCheck } from '../util/token-check.js'
import type { ChangeFeed } from './feed.js'
import type { ChangeEvent } from './types.js'

export const CHANGES_PATH = '/_cistern/changes'

export interface StreamLimits {
  /** Open streams at once; one more is answered 503 with Retry-After. */
  maxConnections: number
  /** A comment line this often keeps proxies from closing an idle stream and finds dead clients. */
  heartbeatMs: number
  /** A client this far behind (bytes not yet taken by its socket) is dropped; it resumes by id. */
  maxBufferedBytes: number
}

export const limitsOf = (feed: FeedConfig): StreamLimits => ({
  maxConnections: feed.maxConnections,
  heartbeatMs: feed.heartbeat,
  maxBufferedBytes: feed.maxBuffered,
})

/** Seconds a client refused for the connection cap is told to wait. */
const RETRY_AFTER_S = 10

// Every stream sends the same event: serialize it once, whatever the number of clients.
const framed = new WeakMap<ChangeEvent, string>()
function frame(event: ChangeEvent): string {
  let text = framed.get(event)
  if (text === undefined) {
    // An id with a line break would end the SSE field early; JSON.stringify never emits raw newlines.
    text = `id: ${event.id.replace(/[\r\n]/g, '')}\nevent: change\ndata: ${JSON.stringify(event)}\n\n`
    framed.set(event, text)
  }
  return text
}

/**
 * The change feed as Server-Sent Events: the one SSE writer, one instance per listener (the admin
 * listener's `GET /changes`, the public port's `GET /_cistern/changes`), each with its own cap.
 *
 * `?route=a&route=b` (or `route=a,b`) and `?tag=x` filter. `Last-Event-ID` (or `?lastEventId=`)
 * resumes: a buffered id replays what came after it; any other id gets a `reset` event and the
 * stream from now on. Each change is `id: <event id>`, `event: change`, `data: <json>`.
 *
 * Bounded: at most `maxConnections` streams; a `: ping` every heartbeat; a client whose socket has
 * `maxBufferedBytes` not taken, or has not drained for two heartbeats, is dropped.
 */
export class ChangeStreams {
  readonly #feed: ChangeFeed
  readonly #limits: StreamLimits
  readonly #open = new Set<ServerResponse>()
  #refused = 0
  #dropped = 0

  constructor(feed: ChangeFeed, limits: StreamLimits) {
    this.#feed = feed
    this.#limits = limits
  }

  /** Open streams now, streams refused at the cap and clients dropped as too slow, since start. */
  stats(): { open: number; refused: number; dropped: number } {
    return { open: this.#open.size, refused: this.#refused, dropped: this.#dropped }
  }

  /** Answer one request (already authorized by the listener) with the stream, or a JSON error. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') {
      sendFeedError(res, 405, 'method_not_allowed', `${req.method} is not allowed here`, { allow: 'GET' })
      return
    }
    if (this.#open.size >= this.#limits.maxConnections) {
      this.#refused++
      sendFeedError(
        res,
        503,
        'too_many_streams',
        `${this.#limits.maxConnections} change streams are open, the most this listener serves`,
        { 'retry-after': String(RETRY_AFTER_S) },
      )
      return
    }
    const query = new URL(req.url ?? '/', 'http://x').searchParams
    const routes = query
      .getAll('route')
      .flatMap((r) => r.split(','))
      .filter(Boolean)
    const tag = query.get('tag') || undefined
    const header = req.headers['last-event-id']
    const lastEventId =
      (typeof header === 'string' ? header.trim() : undefined) || query.get('lastEventId') || undefined

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    })
    // Dead peers that never read are found by the OS too, not only when the buffer fills.
    req.socket.setKeepAlive(true, this.#limits.heartbeatMs)
    this.#open.add(res)

    let stall: NodeJS.Timeout | undefined
    const drop = () => {
      if (res.destroyed) return
      this.#dropped++
      res.destroy()
    }
    const write = (text: string) => {
      if (res.destroyed || res.writableEnded) return
      const flushed = res.write(text)
      if (res.writableLength > this.#limits.maxBufferedBytes) return drop()
      if (!flushed && stall === undefined) {
        stall = setTimeout(drop, 2 * this.#limits.heartbeatMs)
        stall.unref()
        res.once('drain', () => {
          clearTimeout(stall)
          stall = undefined
        })
      }
    }

    write('retry: 2000\n\n')
    const unsubscribe = this.#feed.subscribe((event) => write(frame(event)), {
      route: routes,
      ...(tag && { tag }),
      ...(lastEventId && { lastEventId }),
      onReset: () => write(resetFrame(this.#feed.lastEventId)),
    })
    const heartbeat = setInterval(() => write(': ping\n\n'), this.#limits.heartbeatMs)
    heartbeat.unref()
    res.once('close', () => {
      clearInterval(heartbeat)
      clearTimeout(stall)
      unsubscribe()
      this.#open.delete(res)
    })
  }

  /** End every open stream (shutdown): clients reconnect elsewhere with their Last-Event-ID. */
  closeAll(): void {
    for (const res of this.#open) res.end()
    this.#open.clear()
  }
}

/**
 * Sent instead of a replay when the client's Last-Event-ID is not in the buffer: whatever it missed
 * cannot be told, so it should re-read the data it follows. The `id:` field moves the client's
 * Last-Event-ID to the newest buffered event (empty when there is none, which clears it), so its
 * next reconnect resumes from here.
 */
function resetFrame(newest: string | undefined): string {
  const id = (newest ?? '').replace(/[\r\n]/g, '')
  const data = { reason: 'unknown-last-event-id', lastEventId: newest ?? null }
  return `id: ${id}\nevent: reset\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * `/_cistern/changes` on the public port. Without `feed.public` it is not there (404, like any
 * unknown path, so nothing is learned); with it, a bearer token from `feed.tokens` is required (401
 * otherwise), checked before anything else is looked at.
 */
export function publicChangesHandler(config: FeedConfig, streams: ChangeStreams): ExtraHandler {
  const check = config.public ? new TokenCheck(config.tokens) : undefined
  return (req, res, path) => {
    if (path !== CHANGES_PATH) return false
    if (!check) {
      sendFeedError(res, 404, 'route_not_found', `no route matches ${path}`)
      return true
    }
    if (!check.matches(TokenCheck.bearer(req))) {
      sendFeedError(res, 401, 'unauthorized', 'missing or wrong feed token (Authorization: Bearer <token>)', {
        'www-authenticate': 'Bearer realm="cistern-feed"',
      })
      return true
    }
    streams.serve(req, res)
    return true
  }
}

/** The codes the change feed answers with; 404 is the gateway's own, so an absent feed looks like any unknown path. */
type FeedErrorCode = 'method_not_allowed' | 'too_many_streams' | 'route_not_found' | 'unauthorized'

const sendFeedError: (
  res: ServerResponse,
  status: number,
  code: FeedErrorCode,
  message: string,
  headers?: Record<string, string>,
) => void = sendJsonError
