import type { Priority } from '../config/types.js'

/** An item's id as `changes.id` produced it. */
export type ItemId = string | number

/** One RFC 6902 operation. */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test'
  path: string
  value?: unknown
  from?: string
}

/**
 * What a refresh found changed. `id` is unique and stable, so receivers use it as an idempotency key
 * (it is the SSE event id and the Standard Webhooks `webhook-id`).
 */
// A type alias, not an interface, so it fits consumers that index events by field name.
export type ChangeEvent = {
  id: string
  route: string
  /** The cache key (path?query, then #vary parts). */
  key: string
  /** The gateway URL that serves the data. */
  url: string
  /** When the upstream sent the new version (ms since the epoch). */
  at: number
  /** When the upstream last confirmed the previous version (ms since the epoch). */
  previousFetchedAt: number
  digest: string
  previousDigest: string
  /** Item ids (with `changes.items`); empty for a whole-body change. */
  added: ItemId[]
  removed: ItemId[]
  changed: ItemId[]
  /** Turns the previous JSON body into the new one; null when either body is not JSON or too large. */
  patch: PatchOperation[] | null
  /** The entry's tags, for filtering. */
  tags: string[]
}

export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low']

/** How one priority is doing; what GET /queue and the metrics show. */
export interface PriorityStats {
  /** Keys kept warm at this priority (including one-shot refreshes waiting). */
  scheduled: number
  /** Of those, due now and waiting for the budget. */
  due: number
  running: number
  /** How overdue the most overdue waiting key is now, ms (0 when none is due). */
  lagMs: number
  /** Lag at dispatch (start time minus due time) of recent refreshes, ms. */
  recentLag: { count: number; p50: number; p99: number; max: number }
  refreshed: number
  failed: number
  changed: number
}

export interface SchedulerSnapshot {
  at: number
  keys: number
  running: number
  byPriority: Record<Priority, PriorityStats>
}

/** One scheduled refresh, for listings (GET /queue). */
export interface QueueItem {
  key: string
  route: string
  priority: Priority
  /** When it is due (ms since the epoch). */
  dueAt: number
  /** Why its `refresh.while` could not be evaluated last time (it stays scheduled meanwhile). */
  whileError?: string
}

/** A kept key whose `refresh.while` could not be evaluated at its last refresh. */
export interface WhileErrorItem {
  key: string
  route: string
  error: string
  /** Since when this error has been seen (ms since the epoch). */
  since: number
}

/**
 * The admin API's GET /queue shape: the soonest refreshes, per priority due depth and lag, and the
 * keys whose `while` cannot be evaluated (wherever they are in the queue).
 */
export interface QueueView {
  items: QueueItem[]
  priorities: Partial<Record<Priority, { depth: number; lagMs: number }>>
  whileErrors: WhileErrorItem[]
}
