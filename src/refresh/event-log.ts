import type Database from 'better-sqlite3'
import type { ChangeEvent } from './types.js'

/**
 * The bounded, durable buffer of recent change events, in the order they happened. SSE clients
 * resume from it with Last-Event-ID; the oldest events are dropped past `capacity`.
 */
export class EventLog {
  readonly #capacity: number
  readonly #insert: Database.Statement
  readonly #prune: Database.Statement
  readonly #seqOf: Database.Statement<[string], { seq: number }>
  readonly #after: Database.Statement<[number, number], { seq: number; json: string }>
  readonly #count: Database.Statement<[], { n: number; last: string | null }>

  constructor(db: Database.Database, capacity: number) {
    this.#capacity = capacity
    this.#insert = db.prepare('INSERT INTO events (id, route, json) VALUES (?, ?, ?)')
    this.#prune = db.prepare('DELETE FROM events WHERE seq <= ?')
    this.#seqOf = db.prepare('SELECT seq FROM events WHERE id = ?')
    this.#after = db.prepare('SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?')
    this.#count = db.prepare(
      'SELECT count(*) AS n, (SELECT id FROM events ORDER BY seq DESC LIMIT 1) AS last FROM events',
    )
  }

  /** Append (inside the caller's transaction) and drop what falls out of the buffer. */
  append(event: ChangeEvent): void {
    const { lastInsertRowid } = this.#insert.run(event.id, event.route, JSON.stringify(event))
    const seq = Number(lastInsertRowid)
    if (seq > this.#capacity) this.#prune.run(seq - this.#capacity)
  }

  /**
   * Every buffered event after `lastEventId`, oldest first. An id the buffer no longer holds (or
   * never held) replays the whole buffer: receivers dedupe by id, so a replay is safe, a gap is not.
   */
  *since(lastEventId: string | undefined): Generator<ChangeEvent> {
    let seq = lastEventId === undefined ? 0 : (this.#seqOf.get(lastEventId)?.seq ?? 0)
    for (;;) {
      const page = this.#after.all(seq, 500)
      for (const row of page) yield JSON.parse(row.json) as ChangeEvent
      if (page.length < 500) return
      seq = page.at(-1)!.seq
    }
  }

  stats(): { buffered: number; capacity: number; lastEventId: string | undefined } {
    const row = this.#count.get()
    return { buffered: row?.n ?? 0, capacity: this.#capacity, lastEventId: row?.last ?? undefined }
  }
}
