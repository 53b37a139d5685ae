import type Database from 'better-sqlite3'

export interface OutboxRow {
  seq: number
  target: string
  eventId: string
  /** The request body, ready to send (signed per attempt for standard-webhooks). */
  payload: string
  attempts: number
  nextAt: number
}

interface RawRow {
  seq: number
  target: string
  event_id: string
  payload: string
  attempts: number
  next_at: number
}

/**
 * Deliveries not yet acknowledged, one row per (event, target), written in the same transaction as
 * the change event itself: a crash can repeat a delivery but never lose one. Bounded per target.
 */
export class OutboxStore {
  readonly #capacity: number
  readonly #insert: Database.Statement
  readonly #head: Database.Statement<[string], RawRow>
  readonly #failed: Database.Statement
  readonly #delete: Database.Statement
  readonly #count: Database.Statement<[string], { n: number }>
  readonly #dropOldest: Database.Statement
  readonly #dropOthers: Database.Statement

  constructor(db: Database.Database, capacityPerTarget: number) {
    this.#capacity = capacityPerTarget
    this.#insert = db.prepare('INSERT INTO outbox (target, event_id, payload, next_at) VALUES (?, ?, ?, ?)')
    this.#head = db.prepare(
      'SELECT seq, target, event_id, payload, attempts, next_at FROM outbox WHERE target = ? ORDER BY seq LIMIT 1',
    )
    this.#failed = db.prepare('UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE seq = ?')
    this.#delete = db.prepare('DELETE FROM outbox WHERE seq = ?')
    this.#count = db.prepare('SELECT count(*) AS n FROM outbox WHERE target = ?')
    this.#dropOldest = db.prepare(
      'DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE target = ? ORDER BY seq LIMIT ?)',
    )
    this.#dropOthers = db.prepare('DELETE FROM outbox WHERE target NOT IN (SELECT value FROM json_each(?))')
  }

  /** Enqueue; returns how many old deliveries were dropped to stay within the bound. */
  enqueue(target: string, eventId: string, payload: string, now: number): number {
    this.#insert.run(target, eventId, payload, now)
    const over = this.pending(target) - this.#capacity
    if (over <= 0) return 0
    this.#dropOldest.run(target, over)
    return over
  }

  /** The oldest pending delivery of a target: deliveries go out in order, one at a time. */
  head(target: string): OutboxRow | undefined {
    const row = this.#head.get(target)
    if (!row) return undefined
    return {
      seq: row.seq,
      target: row.target,
      eventId: row.event_id,
      payload: row.payload,
      attempts: row.attempts,
      nextAt: row.next_at,
    }
  }

  failed(seq: number, attempts: number, nextAt: number, error: string): void {
    this.#failed.run(attempts, nextAt, error.slice(0, 500), seq)
  }

  done(seq: number): void {
    this.#delete.run(seq)
  }

  pending(target: string): number {
    return this.#count.get(target)?.n ?? 0
  }

  /** Forget deliveries for targets no longer in the config. */
  retain(targets: readonly string[]): void {
    this.#dropOthers.run(JSON.stringify(targets))
  }
}
