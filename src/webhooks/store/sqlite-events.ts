import type Database from 'better-sqlite3'
import { StoreError } from '../../util/errors.js'
import { quickCheck } from '../../util/sqlite/open-file.js'
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
import { type EventRow, openEventDatabase, toEvent } from './sqlite-schema.js'

const ACCEPTED_SQL = ACCEPTED.map((outcome) => `'${outcome}'`).join(', ')

/** The event log in its own SQLite file (see eventLogPath); survives restarts. */
export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite'
  readonly path: string
  readonly #db: Database.Database
  readonly #limits: EventStoreLimits
  readonly #insert: Database.Statement
  readonly #claim: Database.Statement
  readonly #finish: Database.Statement
  readonly #findDelivery: Database.Statement<[string, string, number], { id: number }>
  readonly #pending: Database.Statement<[number], EventRow>
  readonly #get: Database.Statement<[number], EventRow>
  readonly #lists = new Map<string, Database.Statement>()

  /**
   * Opens the log at `path`. A file that fails PRAGMA quick_check is refused (a StoreError with
   * SQLITE_CORRUPT as its cause) and left as it is: openEventStore then keeps events in memory.
   */
  constructor(path: string, limits: EventStoreLimits, options: { maxPageCount?: number } = {}) {
    this.path = path
    this.#limits = limits
    this.#db = openEventDatabase(path, options)
    const problem = quickCheck(this.#db)
    if (problem !== undefined) {
      this.#db.close()
      const cause = Object.assign(new Error(problem), { code: 'SQLITE_CORRUPT' })
      throw new StoreError('webhook events', `open ${JSON.stringify(path)}`, cause, 'E_STORE_OPEN')
    }
    this.#insert = this.#db.prepare(`
      INSERT INTO webhook_events (webhook, received_at, verified, outcome, reason, delivery_id, type, size,
        verification_key, duplicate_of, headers, params, body)
      VALUES (@webhook, @receivedAt, @verified, @outcome, @reason, @deliveryId, @type, @size,
        @verificationKey, @duplicateOf, @headers, @params, @body)`)
    this.#claim = this.#db.prepare('UPDATE webhook_events SET claimed_at = ? WHERE id = ?')
    this.#finish = this.#db.prepare(
      'UPDATE webhook_events SET outcome = ?, actions = ?, acted_at = ? WHERE id = ?',
    )
    this.#findDelivery = this.#db.prepare(`
      SELECT id FROM webhook_events
      WHERE webhook = ? AND delivery_id = ? AND received_at >= ? AND outcome IN (${ACCEPTED_SQL})
      ORDER BY id LIMIT 1`)
    this.#pending = this.#db.prepare(
      "SELECT * FROM webhook_events WHERE outcome = 'pending' ORDER BY id LIMIT ?",
    )
    this.#get = this.#db.prepare('SELECT * FROM webhook_events WHERE id = ?')
  }

  append(event: NewEvent): number {
    const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value))
    const info = this.#insert.run({
      webhook: event.webhook,
      receivedAt: event.receivedAt,
      verified: event.verified ? 1 : 0,
      outcome: event.outcome,
      reason: event.reason ?? null,
      deliveryId: event.deliveryId ?? null,
      type: event.type ?? null,
      size: event.size,
      verificationKey: event.verificationKey ?? null,
      duplicateOf: event.duplicateOf ?? null,
      headers: json(event.headers),
      params: json(event.params),
      // The exact bytes received, so what the log shows is what was signed.
      body: event.raw ?? null,
    })
    return Number(info.lastInsertRowid)
  }

  claim(id: number, at: number): void {
    this.#claim.run(at, id)
  }

  finish(id: number, outcome: WebhookOutcome, actions: ActionResult[], at: number): void {
    this.#finish.run(outcome, JSON.stringify(actions), at, id)
  }

  findDelivery(webhook: string, deliveryId: string, since: number): number | undefined {
    return this.#findDelivery.get(webhook, deliveryId, since)?.id
  }

  pending(limit: number): WebhookEvent[] {
    return this.#pending.all(limit).map(toEvent)
  }

  list(query: EventQuery): EventPage {
    const { limit, before } = pageOf(query)
    const where = ['id < @before']
    if (query.webhook !== undefined) where.push('webhook = @webhook')
    if (query.outcome !== undefined) where.push('outcome = @outcome')
    const sql = `SELECT id, webhook, received_at, verified, outcome, reason, delivery_id, type, size,
      verification_key, duplicate_of, acted_at, claimed_at, actions, NULL AS headers, params, NULL AS body
      FROM webhook_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`
    let statement = this.#lists.get(sql)
    if (!statement) {
      statement = this.#db.prepare(sql)
      this.#lists.set(sql, statement)
    }
    const rows = statement.all({
      before,
      limit: limit + 1,
      ...(query.webhook !== undefined && { webhook: query.webhook }),
      ...(query.outcome !== undefined && { outcome: query.outcome }),
    }) as EventRow[]
    return toPage(
      rows.map((row) => summary(toEvent(row))),
      limit,
    )
  }

  get(id: number): WebhookEvent | undefined {
    const row = this.#get.get(id)
    return row && toEvent(row)
  }

  prune(now: number): number {
    const { keep, defaultKeep, maxEvents, maxRejected, maxBytes } = this.#limits
    const run = (sql: string, ...params: (string | number)[]) => this.#db.prepare(sql).run(...params).changes
    return this.#db.transaction(() => {
      let dropped = 0
      for (const [webhook, ms] of keep) {
        dropped += run('DELETE FROM webhook_events WHERE webhook = ? AND received_at < ?', webhook, now - ms)
      }
      // Events of webhooks no longer in the config keep the default retention.
      const known = [...keep.keys()]
      dropped += run(
        `DELETE FROM webhook_events WHERE received_at < ? AND webhook NOT IN (${known.map(() => '?').join(', ')})`,
        now - defaultKeep,
        ...known,
      )
      const overCount = (verified: 0 | 1, cap: number) =>
        run(
          `DELETE FROM webhook_events WHERE verified = ? AND id <= (SELECT id FROM webhook_events
            WHERE verified = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
          verified,
          verified,
          cap,
        )
      dropped += overCount(0, maxRejected) + overCount(1, maxEvents)
      dropped += run(
        `DELETE FROM webhook_events WHERE verified = 1 AND id <= (SELECT id FROM (SELECT id,
          SUM(size) OVER (ORDER BY id DESC) AS total FROM webhook_events WHERE verified = 1)
          WHERE total > ? ORDER BY id DESC LIMIT 1)`,
        maxBytes,
      )
      return dropped
    })()
  }

  close(): void {
    if (this.#db.open) this.#db.close()
  }
}
