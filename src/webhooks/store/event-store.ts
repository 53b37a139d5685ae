import type { ActionResult, EventPage, EventQuery, WebhookEvent, WebhookOutcome } from '../types.js'

/**
 * An event to append: everything but the id. A verified delivery brings its body twice: `raw`, the
 * exact bytes (what SQLite keeps), and `body`, parsed (what the memory log keeps).
 */
export type NewEvent = Omit<WebhookEvent, 'id'> & { raw?: Buffer }

/**
 * The webhook event log. Synchronous on purpose: the durable write must be done before the 2xx
 * goes out, and the replay check plus that write must not interleave with another delivery.
 */
export interface EventStore {
  readonly kind: 'sqlite' | 'memory'
  /** Append; when this returns the event is as durable as the store gets. Returns its id. */
  append(event: NewEvent): number
  /**
   * Record that this instance won the act-once check across instances for a pending event, before
   * its actions start (claimedAt).
   */
  claim(id: number, at: number): void
  /** Record the actions' results and the final outcome of a pending event. */
  finish(id: number, outcome: WebhookOutcome, actions: ActionResult[], at: number): void
  /** The earliest accepted (verified, not duplicate) event with this delivery id since `since`. */
  findDelivery(webhook: string, deliveryId: string, since: number): number | undefined
  /** Events still pending (oldest first): their actions were cut off by a stop. */
  pending(limit: number): WebhookEvent[]
  list(query: EventQuery): EventPage
  get(id: number): WebhookEvent | undefined
  /** Drop events past their retention and over the caps; returns how many were dropped. */
  prune(now: number): number
  close(): void
}

export interface EventStoreLimits {
  /** How long each webhook's events are kept, ms; a webhook not listed keeps `defaultKeep`. */
  keep: ReadonlyMap<string, number>
  defaultKeep: number
  /** Most verified events kept, whatever their age. */
  maxEvents: number
  /** Most refused (unverified) deliveries kept: a flood of junk must not push out real events. */
  maxRejected: number
  /** Most body bytes kept (sum of `size` over verified events). */
  maxBytes: number
}

/** Outcomes of deliveries that were accepted, so a repeat of them is a duplicate. */
export const ACCEPTED: readonly WebhookOutcome[] = ['pending', 'acted', 'ignored', 'failed']

export const DEFAULT_PAGE = 50
export const MAX_PAGE = 500

/** Page size and cursor from a query; a cursor that is not one of ours is a RangeError. */
export function pageOf(query: EventQuery): { limit: number; before: number } {
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_PAGE), 1), MAX_PAGE)
  if (query.cursor === undefined || query.cursor === '') return { limit, before: Number.MAX_SAFE_INTEGER }
  if (!/^[1-9]\d{0,15}$/.test(query.cursor)) throw new RangeError(`invalid cursor "${query.cursor}"`)
  return { limit, before: Number(query.cursor) }
}

/** What a list shows of an event: everything but the body and headers (get(id) has those). */
export function summary(event: WebhookEvent): WebhookEvent {
  const { body: _body, headers: _headers, ...rest } = event
  return rest
}

/** A page from `limit + 1` rows fetched newest first. */
export function toPage(events: WebhookEvent[], limit: number): EventPage {
  if (events.length <= limit) return { events }
  const page = events.slice(0, limit)
  return { events: page, nextCursor: String(page.at(-1)!.id) }
}
