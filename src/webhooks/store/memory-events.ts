import type { ActionResult, EventPage, EventQuery, WebhookEvent, WebhookOutcome } from '../types.js'
import {
  ACCEPTED,
  type EventStore,
  type EventStoreLimits,
  type NewEvent,
  pageOf,
  summary,
  toPage,
} from './event-store.js'

/**
 * The event log for `store.kind: memory`: lost on restart like the rest of a memory store, and
 * bounded by the same retention and caps as the SQLite log.
 */
export class MemoryEventStore implements EventStore {
  readonly kind = 'memory'
  /** Oldest first; ids increase, so this is also id order. */
  #events: WebhookEvent[] = []
  #nextId = 1
  /** Running totals, so a cap check is O(1) per append. */
  #verified = 0
  #rejected = 0
  #bytes = 0
  readonly #limits: EventStoreLimits

  constructor(limits: EventStoreLimits) {
    this.#limits = limits
  }

  append(event: NewEvent): number {
    const { raw: _raw, ...fields } = event
    const id = this.#nextId++
    // A copy, so callers (and readers) never share mutable state with the log.
    this.#events.push(structuredClone({ ...fields, id }))
    this.#count(event, 1)
    this.#trimToCaps()
    return id
  }

  claim(id: number, at: number): void {
    const event = this.#find(id)
    if (event) event.claimedAt = at
  }

  finish(id: number, outcome: WebhookOutcome, actions: ActionResult[], at: number): void {
    const event = this.#find(id)
    if (!event) return
    event.outcome = outcome
    event.actions = structuredClone(actions)
    event.actedAt = at
  }

  findDelivery(webhook: string, deliveryId: string, since: number): number | undefined {
    return this.#events.find(
      (e) =>
        e.webhook === webhook &&
        e.deliveryId === deliveryId &&
        e.receivedAt >= since &&
        ACCEPTED.includes(e.outcome),
    )?.id
  }

  pending(limit: number): WebhookEvent[] {
    return this.#events
      .filter((e) => e.outcome === 'pending')
      .slice(0, limit)
      .map((e) => structuredClone(e))
  }

  list(query: EventQuery): EventPage {
    const { limit, before } = pageOf(query)
    const out: WebhookEvent[] = []
    for (let i = this.#events.length - 1; i >= 0 && out.length <= limit; i--) {
      const e = this.#events[i]!
      if (e.id >= before) continue
      if (query.webhook !== undefined && e.webhook !== query.webhook) continue
      if (query.outcome !== undefined && e.outcome !== query.outcome) continue
      out.push(structuredClone(summary(e)))
    }
    return toPage(out, limit)
  }

  get(id: number): WebhookEvent | undefined {
    const event = this.#find(id)
    return event && structuredClone(event)
  }

  prune(now: number): number {
    const before = this.#events.length
    this.#events = this.#events.filter((e) => {
      const kept = e.receivedAt >= now - (this.#limits.keep.get(e.webhook) ?? this.#limits.defaultKeep)
      if (!kept) this.#count(e, -1)
      return kept
    })
    this.#trimToCaps()
    return before - this.#events.length
  }

  close(): void {
    this.#events = []
    this.#verified = 0
    this.#rejected = 0
    this.#bytes = 0
  }

  #count(e: Pick<WebhookEvent, 'verified' | 'size'>, sign: 1 | -1): void {
    if (e.verified) {
      this.#verified += sign
      this.#bytes += sign * e.size
    } else this.#rejected += sign
  }

  /**
   * Drop the oldest events of whichever kind is over its cap, down to 90% of it, so a log at its
   * cap pays for one O(n) pass per tenth of the cap rather than on every append.
   */
  #trimToCaps(): void {
    const { maxEvents, maxRejected, maxBytes } = this.#limits
    if (this.#verified <= maxEvents && this.#bytes <= maxBytes && this.#rejected <= maxRejected) return
    const trimVerified = this.#verified > maxEvents || this.#bytes > maxBytes
    const trimRejected = this.#rejected > maxRejected
    this.#events = this.#events.filter((e) => {
      const drop = e.verified
        ? trimVerified && (this.#verified > maxEvents * 0.9 || this.#bytes > maxBytes * 0.9)
        : trimRejected && this.#rejected > maxRejected * 0.9
      if (drop) this.#count(e, -1)
      return !drop
    })
  }

  #find(id: number): WebhookEvent | undefined {
    // Binary search: ids increase along the array.
    let lo = 0
    let hi = this.#events.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const e = this.#events[mid]!
      if (e.id === id) return e
      if (e.id < id) lo = mid + 1
      else hi = mid - 1
    }
    return undefined
  }
}
