import type { EventLog } from './event-log.js'
import type { ChangeEvent } from './types.js'

export interface FeedFilter {
  /** Only these routes (by name); empty or absent: all. */
  route?: string | readonly string[]
  /** Only events whose entry carries this tag. */
  tag?: string
  /**
   * Replay the buffered events after this id first. An id the buffer does not hold (unknown,
   * malformed, or dropped as too old) replays nothing: `onReset` is called and the subscriber
   * starts from now, since what it missed cannot be told.
   */
  lastEventId?: string
  /** Called (synchronously, before any live event) when `lastEventId` could not be resumed from. */
  onReset?: () => void
}

/** Longest Last-Event-ID looked up; ours are 33 characters, anything far longer is not one of them. */
const MAX_EVENT_ID = 128

export type ChangeListener = (event: ChangeEvent) => void

interface Subscriber {
  listener: ChangeListener
  routes: ReadonlySet<string> | undefined
  tag: string | undefined
}

export function matches(
  event: ChangeEvent,
  routes: ReadonlySet<string> | undefined,
  tag: string | undefined,
) {
  return (routes === undefined || routes.has(event.route)) && (tag === undefined || event.tags.includes(tag))
}

/**
 * The change feed: live fan-out to subscribers (SSE clients, the admin API) over the durable event
 * log. Events are appended to the log before they are published, and a subscription replays and
 * joins in one synchronous step, so a resumed subscriber sees no gap and no reordering.
 */
export class ChangeFeed {
  readonly #log: EventLog
  readonly #subscribers = new Set<Subscriber>()
  #published = 0
  #closed = false

  constructor(log: EventLog) {
    this.#log = log
  }

  /** Events published since start (a counter for metrics). */
  get published(): number {
    return this.#published
  }

  get subscribers(): number {
    return this.#subscribers.size
  }

  /** Listen for change events; returns the unsubscribe function. */
  subscribe(listener: ChangeListener, filter: FeedFilter = {}): () => void {
    const list = typeof filter.route === 'string' ? [filter.route] : filter.route
    const routes = list && list.length > 0 ? new Set(list) : undefined
    const subscriber: Subscriber = { listener, routes, tag: filter.tag || undefined }
    if (this.#closed) return () => {}
    if (filter.lastEventId) {
      const replay =
        filter.lastEventId.length <= MAX_EVENT_ID ? this.#log.since(filter.lastEventId) : undefined
      if (replay === undefined) filter.onReset?.()
      else for (const event of replay) if (matches(event, routes, subscriber.tag)) safely(listener, event)
    }
    this.#subscribers.add(subscriber)
    return () => {
      this.#subscribers.delete(subscriber)
    }
  }

  /** Fan an event (already in the log) out to the live subscribers. */
  publish(event: ChangeEvent): void {
    this.#published++
    for (const s of this.#subscribers) if (matches(event, s.routes, s.tag)) safely(s.listener, event)
  }

  /** The id of the newest buffered event: where a client told to reset resumes from. */
  get lastEventId(): string | undefined {
    return this.#log.stats().lastEventId
  }

  stats() {
    return { published: this.#published, subscribers: this.#subscribers.size, ...this.#log.stats() }
  }

  close(): void {
    this.#closed = true
    this.#subscribers.clear()
  }
}

// One subscriber's failure must not keep the event from the others, nor fail the refresh.
function safely(listener: ChangeListener, event: ChangeEvent): void {
  try {
    listener(event)
  } catch {}
}
