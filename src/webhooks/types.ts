import type { SingleSelector } from '../stores/store.js'

/**
 * What became of one delivery. `pending` is the state between the durable write and the end of
 * its actions: an event still `pending` at start-up was cut off by a stop and is acted on again.
 */
export type WebhookOutcome =
  /** Verified and stored; actions not finished yet. */
  | 'pending'
  /** At least one action ran and none failed. */
  | 'acted'
  /** Verified, but no action's `when` held. */
  | 'ignored'
  /** An action failed; the error is on the event. */
  | 'failed'
  /** The same delivery was already accepted inside the replay window: acknowledged, not acted on. */
  | 'duplicate'
  /** Missing, malformed or wrong signature (401). */
  | 'unauthorized'
  /** Signed, but the timestamp is outside the scheme's tolerance (401). */
  | 'expired'
  /** Body over maxBodySize (413). */
  | 'too_large'
  /** Signed, but the body is not JSON (400). */
  | 'invalid_json'

export const OUTCOMES: readonly WebhookOutcome[] = [
  'pending',
  'acted',
  'ignored',
  'failed',
  'duplicate',
  'unauthorized',
  'expired',
  'too_large',
  'invalid_json',
]

/** What one `on` entry did for an event. */
export interface ActionResult {
  /** Index of the action in the webhook's `on` list. */
  index: number
  matched: boolean
  invalidated?: string[]
  refreshed?: string[]
  /** Entries invalidated or refreshed (as the cache and the refresher count them). */
  count?: number
  error?: string
}

/** One received delivery as the event log keeps it. Unverified ones carry metadata only. */
export interface WebhookEvent {
  /** Increasing with arrival; also the list cursor. */
  id: number
  webhook: string
  /** Epoch ms. */
  receivedAt: number
  verified: boolean
  outcome: WebhookOutcome
  /** Why a delivery was refused, in words. */
  reason?: string
  /** What replay protection compares: `id:<delivery id>` or `sha256:<body digest>`. */
  deliveryId?: string
  /** The sender's event type (TBA message_type, Stripe/Standard Webhooks type, GitHub's event header). */
  type?: string
  /** Body size in bytes (as far as it was read, for too_large). */
  size: number
  /** Request headers of a verified delivery, minus signatures and credentials. */
  headers?: Record<string, string>
  /** Path parameters of the webhook path. */
  params?: Record<string, string>
  /** The parsed body of a verified delivery. */
  body?: unknown
  /** TBA's `verification` message: the key a person must paste into TBA. */
  verificationKey?: string
  /** The event this one repeats (outcome duplicate). */
  duplicateOf?: number
  actions?: ActionResult[]
  /** When the actions finished, epoch ms. */
  actedAt?: number
  /**
   * When this instance won the act-once check across instances for it, epoch ms: a stop before its
   * actions finished leaves it pending, and the next start acts on it without asking again (the
   * answer would be this very claim, "not first").
   */
  claimedAt?: number
}

export interface EventQuery {
  /** Page size; default 50, at most 500. */
  limit?: number
  /** From a previous page's nextCursor: events older than that page's last. */
  cursor?: string
  webhook?: string
  outcome?: WebhookOutcome
}

export interface EventPage {
  /** Newest first. */
  events: WebhookEvent[]
  /** Present when older events remain. */
  nextCursor?: string
}

/**
 * The read side of the event log, for the admin API's GET /events. Promise-returning so a store
 * that answers over the network can implement it too.
 */
export interface WebhookEvents {
  list(query?: EventQuery): Promise<EventPage>
  get(id: number): Promise<WebhookEvent | undefined>
}

/**
 * How a `refresh` action asks for background refreshes. The refresh scheduler implements it;
 * until it is wired in, cistern passes softInvalidationRefresher (entries are marked stale, so the
 * next read serves them once and refreshes in the background).
 */
export interface RefreshRequester {
  /** Resolves to how many entries were scheduled (or marked). */
  refresh(selector: SingleSelector, lane: 'background'): Promise<number>
}

/** The part of a pino logger the webhooks use; pino's Logger fits. */
export interface WebhookLogger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}
