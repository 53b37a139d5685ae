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
   * Every buffered event after `lastEventId` (all of them without one), oldest first; undefined when
   * the buffer does not hold that id (never did, or dropped it): the caller cannot know what was
   * missed, so it must not pretend to resume (see ChangeFeed.subscribe).
   */
  since(lastEventId: string | undefined): Generator<ChangeEvent> | undefined {
    if (lastEventId === undefined) return this.#from(0)
    const seq = this.#seqOf.get(lastEventId)?.seq
    return seq === undefined ? undefined : this.#from(seq)
  }

  *#from(after: number): Generator<ChangeEvent> {
    let seq = after
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
