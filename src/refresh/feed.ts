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
  /**
   * The reader is still behind its Last-Event-ID: what it brings before an id of `skip` is older than
   * that id (the client had it before it came back) and is dropped.
   */
  older?: boolean
  /** Replayed, but nothing heard yet tells where the reader is: the first event it brings decides. */
  undecided?: Resume
}

/** Where a resumed subscriber is: its Last-Event-ID, then the replay after it, in the log's order. */
interface Resume {
  ids: string[]
  set: ReadonlySet<string>
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
      if (s.held) {
        s.held.push(event)
        const resume = s.undecided
        s.undecided = undefined
        if (resume && this.#shared) void this.#decide(this.#shared, s, resume)
        continue
      }
      if (s.skip?.delete(event.id)) {
        s.older = undefined
        if (s.skip.size === 0) s.skip = undefined
        continue
      }
      if (s.older) continue
      if (matches(event, s.routes, s.tag)) safely(s.listener, event)
    }
  }

  /** The id of the newest buffered event: where a client told to reset resumes from. */
  get lastEventId(): string | undefined {
    return this.#shared ? (this.#newest ?? this.#log.stats().lastEventId) : this.#log.stats().lastEventId
  }

  /**
   * Replay the shared log after `lastEventId` (page by page, at most the log's capacity), then the
   * live events held meanwhile that are newer than the replay. An id the log does not hold, or a log
   * that cannot be read, is a reset: what was missed cannot be told.
   */
  async #replayShared(
    shared: SharedChangeLog,
    subscriber: Subscriber,
    lastEventId: string,
    onReset: (() => void) | undefined,
  ): Promise<void> {
    const replay: ChangeEvent[] = []
    let reset = lastEventId.length > MAX_EVENT_ID
    try {
      for (let after = lastEventId; !reset && replay.length < this.#replayLimit; ) {
        const want = Math.min(REPLAY_PAGE, this.#replayLimit - replay.length)
        const page = await shared.since(after, want)
        // Only the client's own id can be unknown; a later page's cursor trimmed meanwhile ends the replay.
        if (page === undefined) reset = after === lastEventId
        if (page === undefined) break
        for (const change of page) replay.push(JSON.parse(change.json) as ChangeEvent)
        if (page.length < want) break
        after = page.at(-1)!.id
      }
    } catch {
      reset = true
    }
    // Unsubscribed (or closed) while reading.
    if (!this.#subscribers.has(subscriber)) return
    if (reset) {
      onReset?.()
      const held = subscriber.held ?? []
      subscriber.held = undefined
      for (const event of held) this.#deliver(subscriber, event)
      return
    }
    for (const event of replay) this.#deliver(subscriber, event)
    const ids = [lastEventId, ...replay.map((event) => event.id)]
    this.#goLive(shared, subscriber, { ids, set: new Set(ids) }, undefined)
  }

  /**
   * End the hold of a replayed subscriber. This instance's reader of the shared log brings events in
   * the log's order, but it may lag behind the replay (or even behind the Last-Event-ID: then it still
   * brings events the client had before it came back), or have started after it. Once it is known to
   * be past the Last-Event-ID (it brought or holds one of `resume`'s ids), every event it brings that
   * the replay did not give is newer. Otherwise the first event it brings tells: newer than the
   * replay (`firstHeldIsNewer`, asked of the log) or older than the Last-Event-ID, and then what it
   * brings is dropped until it reaches the resume ids.
   */
  #goLive(
    shared: SharedChangeLog,
    subscriber: Subscriber,
    resume: Resume,
    firstHeldIsNewer: boolean | undefined,
  ): void {
    const held = subscriber.held ?? []
    const lastResumed = held.findLastIndex((event) => resume.set.has(event.id))
    const pastLastEventId = lastResumed >= 0 || resume.ids.some((id) => this.#heard.has(id))
    if (!pastLastEventId && held.length === 0) {
      // Stay held: the first event the reader brings decides (see publish).
      subscriber.undecided = resume
      return
    }
    if (!pastLastEventId && firstHeldIsNewer === undefined) {
      void this.#decide(shared, subscriber, resume)
      return
    }
    subscriber.held = undefined
    const skip = new Set(resume.ids.filter((id) => !this.#heard.has(id)))
    if (pastLastEventId || !firstHeldIsNewer) {
      if (skip.size > 0) subscriber.skip = skip
    }
    if (pastLastEventId) {
      for (const event of held.slice(lastResumed + 1)) this.#deliver(subscriber, event)
    } else if (firstHeldIsNewer) {
      for (const event of held) this.#deliver(subscriber, event)
    } else {
      // Held events are all older than the Last-Event-ID (none is a resume id): the client had them.
      subscriber.older = true
    }
  }

  /** Whether the first event held for `subscriber` is newer than its replay, then end the hold. */
  async #decide(shared: SharedChangeLog, subscriber: Subscriber, resume: Resume): Promise<void> {
    const first = subscriber.held?.[0]
    if (!first) return
    let newer: boolean
    try {
      const after = await shared.since(resume.ids.at(-1)!, this.#replayLimit)
      // The replay's end trimmed away, or more events since than a page holds: it cannot be older.
      newer = after === undefined || after.length >= this.#replayLimit || after.some((c) => c.id === first.id)
    } catch {
      newer = true
    }
    if (!this.#subscribers.has(subscriber) || !subscriber.held) return
    this.#goLive(shared, subscriber, resume, newer)
  }

  #deliver(subscriber: Subscriber, event: ChangeEvent): void {
    if (matches(event, subscriber.routes, subscriber.tag)) safely(subscriber.listener, event)
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
