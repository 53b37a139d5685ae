import type { SharedChangeLog } from '../stores/coordination.js'
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
  /** Live events heard while its replay from the shared log is read; undefined once it is live. */
  held?: ChangeEvent[]
  /**
   * Ids it has had (its Last-Event-ID and the replay) that this instance's reader of the shared log
   * may not have reached yet: each is dropped once, when the reader brings it.
   */
  skip?: Set<string>
}

/** Events read from the shared log per request while replaying. */
const REPLAY_PAGE = 500

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
  readonly #shared: SharedChangeLog | undefined
  readonly #replayLimit: number
  readonly #subscribers = new Set<Subscriber>()
  readonly #stopTail: (() => void) | undefined
  /** With a shared log: the newest event heard (what a client told to reset resumes from). */
  #newest: string | undefined
  /** With a shared log: the ids of the last events heard (as many as a replay may hold), oldest first. */
  readonly #heard = new Set<string>()
  #published = 0
  #closed = false

  /**
   * With `shared` (several instances on one Coordination) the events every subscriber gets are the
   * shared log's, whichever instance appended them, and Last-Event-ID resumes from it, so ids are the
   * same on every instance; `log` then holds only events the shared log could not take (the server
   * away), published here alone. `replayLimit` bounds a replay from the shared log (its capacity).
   */
  constructor(log: EventLog, shared?: SharedChangeLog, replayLimit = 10_000) {
    this.#log = log
    this.#shared = shared
    this.#replayLimit = replayLimit
    this.#stopTail = shared?.tail((change) => {
      let event: ChangeEvent
      try {
        event = JSON.parse(change.json) as ChangeEvent
      } catch {
        return
      }
      this.publish(event)
    })
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
    const unsubscribe = () => {
      this.#subscribers.delete(subscriber)
    }
    if (filter.lastEventId && this.#shared) {
      // The replay is read over the network: live events are held meanwhile and follow it.
      subscriber.held = []
      this.#subscribers.add(subscriber)
      void this.#replayShared(this.#shared, subscriber, filter.lastEventId, filter.onReset)
      return unsubscribe
    }
    if (filter.lastEventId) {
      const replay =
        filter.lastEventId.length <= MAX_EVENT_ID ? this.#log.since(filter.lastEventId) : undefined
      if (replay === undefined) filter.onReset?.()
      else for (const event of replay) if (matches(event, routes, subscriber.tag)) safely(listener, event)
    }
    this.#subscribers.add(subscriber)
    return unsubscribe
  }

  /** Fan an event (already in the log) out to the live subscribers. */
  publish(event: ChangeEvent): void {
    this.#published++
    if (this.#shared) {
      this.#newest = event.id
      this.#heard.add(event.id)
      if (this.#heard.size > this.#replayLimit) this.#heard.delete(this.#heard.values().next().value!)
    }
    for (const s of this.#subscribers) {
      if (s.skip?.delete(event.id)) {
        if (s.skip.size === 0) s.skip = undefined
        continue
      }
      if (s.held) s.held.push(event)
      else if (matches(event, s.routes, s.tag)) safely(s.listener, event)
    }
  }

  /** The id of the newest buffered event: where a client told to reset resumes from. */
  get lastEventId(): string | undefined {
    return this.#shared ? (this.#newest ?? this.#log.stats().lastEventId) : this.#log.stats().lastEventId
  }

  /**
   * Replay the shared log after `lastEventId` (page by page, at most the log's capacity), then the
   * live events held meanwhile, less those the replay already gave. An id the log does not hold, or
   * a log that cannot be read, is a reset: what was missed cannot be told.
   */
  async #replayShared(
    shared: SharedChangeLog,
    subscriber: Subscriber,
    lastEventId: string,
    onReset: (() => void) | undefined,
  ): Promise<void> {
    const replayed = new Set<string>()
    const replay: ChangeEvent[] = []
    let reset = lastEventId.length > MAX_EVENT_ID
    try {
      for (let after = lastEventId; !reset && replay.length < this.#replayLimit; ) {
        const want = Math.min(REPLAY_PAGE, this.#replayLimit - replay.length)
        const page = await shared.since(after, want)
        // Only the client's own id can be unknown; a later page's cursor trimmed meanwhile ends the replay.
        if (page === undefined) reset = after === lastEventId
        if (page === undefined) break
        for (const change of page) {
          replayed.add(change.id)
          replay.push(JSON.parse(change.json) as ChangeEvent)
        }
        if (page.length < want) break
        after = page.at(-1)!.id
      }
    } catch {
      reset = true
    }
    // Unsubscribed (or closed) while reading.
    if (!this.#subscribers.has(subscriber)) return
    if (reset) onReset?.()
    else {
      for (const event of replay) {
        if (matches(event, subscriber.routes, subscriber.tag)) safely(subscriber.listener, event)
      }
    }
    // Held events the replay gave are already out; the rest are newer, in order. Replayed ids the
    // reader has not brought yet (it may lag behind the replay) are dropped when it does.
    const held = subscriber.held ?? []
    subscriber.held = undefined
    for (const event of held) {
      const had = replayed.delete(event.id) || (!reset && event.id === lastEventId)
      if (!had && matches(event, subscriber.routes, subscriber.tag)) safely(subscriber.listener, event)
    }
    if (!reset) replayed.add(lastEventId)
    const skip = new Set([...replayed].filter((id) => !this.#heard.has(id)))
    if (skip.size > 0) subscriber.skip = skip
  }

  stats() {
    return { published: this.#published, subscribers: this.#subscribers.size, ...this.#log.stats() }
  }

  close(): void {
    this.#closed = true
    this.#stopTail?.()
    this.#subscribers.clear()
  }
}

// One subscriber's failure must not keep the event from the others, nor fail the refresh.
function safely(listener: ChangeListener, event: ChangeEvent): void {
  try {
    listener(event)
  } catch {}
}
