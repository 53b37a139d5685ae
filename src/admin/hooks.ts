import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Priority } from '../config/types.js'
import type { QueueItem } from '../refresh/types.js'
import type { SingleSelector } from '../stores/store.js'
import type { Lane } from '../upstream/budget/types.js'

export type { QueueItem }

/**
 * What other parts of cistern plug into the admin API, given to createAdmin: startCistern builds the
 * refresh path and webhooks first and passes theirs. Every field is optional and read at request
 * time; without a hook, its endpoint answers an empty, well-formed result with `available: false`.
 */
export interface AdminHooks {
  /** POST /refresh: queue background refreshes of the selection; resolves to how many were queued. */
  refresh?: (selection: SingleSelector) => Promise<{ queued: number }>
  /** GET /queue and the refresh gauges: due refreshes and lag per priority. */
  queue?: () => Promise<QueueSnapshot> | QueueSnapshot
  /** GET /entries/{key}: when the scheduler will next refresh a key (epoch ms), if it will. */
  nextRefresh?: (key: string) => Promise<number | undefined> | number | undefined
  /** GET /entries/{key}: why the key's `refresh.while` could not be evaluated, if it could not. */
  whileError?: (key: string) => string | undefined
  /**
   * GET /changes: answer with the change feed's event stream (the refresh path's SSE writer, with the
   * admin listener's own connection cap). Called once the admin token has been checked.
   */
  changes?: (req: IncomingMessage, res: ServerResponse) => void
  /** GET /events: webhooks received, newest first, paged. */
  events?: (query: EventsQuery) => Promise<EventsPage>
}

export interface QueueSnapshot {
  /** Due or scheduled refreshes, soonest first (the scheduler bounds the list). */
  items: QueueItem[]
  /** Per priority: how many are due now and how far behind the oldest due one is, ms. */
  priorities: Partial<Record<Priority, { depth: number; lagMs: number }>>
  /** Kept keys whose `refresh.while` could not be evaluated, with the reason. */
  whileErrors?: { key: string; route: string; error: string; since: number }[]
}

export interface EventsQuery {
  limit: number
  cursor?: string
}

export interface EventsPage {
  events: unknown[]
  cursor?: string
}

/** One upstream call as the upstream client reports it (see AdminRecorder.upstreamCall). */
export interface UpstreamCallReport {
  upstream: string
  /** HTTP status, or what happened instead: 'timeout', 'network', 'budget' ... */
  status: number | string
  lane: Lane
  durationMs: number
  /** Route name when known. */
  route?: string
  method?: string
  /** The URL called, for the debug log (scrubbed of secrets like every log line). */
  url?: string
}

/**
 * Counters other parts of cistern feed (`cistern.admin.recorder.changeEvent(route)`). Calls are
 * cheap and never throw. The first `upstreamCall` report switches the upstream-call metrics from the
 * estimate derived from cache fetches to the client's exact reports.
 */
export interface AdminRecorder {
  changeEvent(route: string): void
  webhookEvent(webhook: string, outcome: string): void
  upstreamCall(report: UpstreamCallReport): void
}
