import { extname } from 'node:path'
import type Database from 'better-sqlite3'
import { openSqliteFile } from '../../util/sqlite/open-file.js'
import { applicationIdOf, type SqliteSchema } from '../../util/sqlite/schema.js'
import type { ActionResult, WebhookEvent, WebhookOutcome } from '../types.js'

/**
 * The webhook event log lives in its own SQLite file next to the cache database
 * (`cache.db` → `cache.webhooks.db`): the cache file belongs to the SQLite store, which owns its
 * schema and migrations, and a separate file keeps the two from ever contending for one write lock.
 */
export function eventLogPath(storePath: string): string {
  const ext = extname(storePath)
  return `${ext ? storePath.slice(0, -ext.length) : storePath}.webhooks${ext || '.db'}`
}

/** Append only: a shipped migration never changes. user_version holds how many have run. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    verified INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    delivery_id TEXT,
    type TEXT,
    size INTEGER NOT NULL,
    verification_key TEXT,
    duplicate_of INTEGER,
    acted_at INTEGER,
    actions TEXT,
    headers TEXT,
    params TEXT,
    body BLOB
  );
  CREATE INDEX webhook_events_delivery ON webhook_events (webhook, delivery_id, received_at);
  CREATE INDEX webhook_events_outcome ON webhook_events (outcome, id);
  CREATE INDEX webhook_events_webhook ON webhook_events (webhook, id);
  CREATE INDEX webhook_events_verified ON webhook_events (verified, id);
  CREATE INDEX webhook_events_received ON webhook_events (received_at);
  `,
  'ALTER TABLE webhook_events ADD COLUMN claimed_at INTEGER;',
]

/** 'cswh'. Logs written before the id was stamped (version 1, no id) are adopted. */
export const EVENT_LOG_SCHEMA: SqliteSchema = {
  name: 'webhook event log',
  applicationId: applicationIdOf('cswh'),
  migrations: MIGRATIONS,
  legacyTables: ['webhook_events'],
}

/**
 * Open (creating) the event log. WAL so readers (the admin API) never block the writer;
 * synchronous=FULL because an accepted event must survive power loss once its 2xx is sent, and
 * webhook volume is far too low for the extra fsync to matter. An up-to-date file is opened without
 * a single write, so a full disk cannot stop a restart here.
 */
export function openEventDatabase(path: string, options: { maxPageCount?: number } = {}): Database.Database {
  return openSqliteFile(path, {
    busyTimeoutMs: 2000,
    ...options,
    schema: EVENT_LOG_SCHEMA,
    prepare(db) {
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
    },
  })
}

export interface EventRow {
  id: number
  webhook: string
  received_at: number
  verified: number
  outcome: string
  reason: string | null
  delivery_id: string | null
  type: string | null
  size: number
  verification_key: string | null
  duplicate_of: number | null
  acted_at: number | null
  claimed_at: number | null
  actions: string | null
  headers: string | null
  params: string | null
  body: Buffer | null
}

function parsed<T>(text: string | null | Buffer): T | undefined {
  if (text === null) return undefined
  try {
    return JSON.parse(text.toString()) as T
  } catch {
    // Only our own writes land here; a row damaged on disk shows without that field, not as a 500.
    return undefined
  }
}

/** A row as an event; absent columns stay absent (no `reason: null` in the admin API). */
export function toEvent(row: EventRow): WebhookEvent {
  const event: WebhookEvent = {
    id: row.id,
    webhook: row.webhook,
    receivedAt: row.received_at,
    verified: row.verified === 1,
    outcome: row.outcome as WebhookOutcome,
    size: row.size,
  }
  if (row.reason !== null) event.reason = row.reason
  if (row.delivery_id !== null) event.deliveryId = row.delivery_id
  if (row.type !== null) event.type = row.type
  if (row.verification_key !== null) event.verificationKey = row.verification_key
  if (row.duplicate_of !== null) event.duplicateOf = row.duplicate_of
  if (row.acted_at !== null) event.actedAt = row.acted_at
  if (row.claimed_at !== null) event.claimedAt = row.claimed_at
  const actions = parsed<ActionResult[]>(row.actions)
  if (actions) event.actions = actions
  const headers = parsed<Record<string, string>>(row.headers)
  if (headers) event.headers = headers
  const params = parsed<Record<string, string>>(row.params)
  if (params) event.params = params
  if (row.body !== null) event.body = parsed<unknown>(row.body)
  return event
}
