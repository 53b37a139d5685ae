import type Database from 'better-sqlite3'

/** What the refresh path last saw of a key: compared with the next refresh to detect a change. */
export interface Seen {
  digest: string
  fetchedAt: number
  /** The body, or null when it was too large to keep (the change then carries no patch). */
  body: Buffer | null
  headers: Record<string, string>
}

export interface ScheduleRow {
  key: string
  route: string
  dueAt: number
  lastReadAt: number
  reads: number
  failures: number
  /** An adaptive key's learned change rate, as stored (change-rate.ts parses it); absent otherwise. */
  rate?: unknown
}

/** Bodies above this are not kept for diffs: a change is still seen by digest, without a patch. */
export const MAX_SEEN_BODY = 4 * 1024 * 1024

interface RawRow {
  key: string
  route: string
  due_at: number
  last_read_at: number
  reads: number
  failures: number
  rate: string | null
}

interface RawSeen {
  digest: string | null
  fetched_at: number | null
  body: Buffer | null
  headers: string | null
}

/** The durable schedule: one row per key kept warm. */
export class ScheduleStore {
  readonly #insert: Database.Statement
  readonly #touch: Database.Statement
  readonly #due: Database.Statement
  readonly #delete: Database.Statement
  readonly #all: Database.Statement<[], RawRow>
  readonly #seen: Database.Statement<[string], RawSeen>
  readonly #setSeen: Database.Statement
  readonly #confirm: Database.Statement

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO schedule (key, route, due_at, last_read_at, reads, rate) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET route = excluded.route, due_at = excluded.due_at,
         last_read_at = excluded.last_read_at, reads = excluded.reads, rate = excluded.rate`,
    )
    this.#touch = db.prepare('UPDATE schedule SET last_read_at = ?, reads = ? WHERE key = ?')
    this.#due = db.prepare('UPDATE schedule SET due_at = ?, failures = ?, rate = ? WHERE key = ?')
    this.#delete = db.prepare('DELETE FROM schedule WHERE key = ?')
    this.#all = db.prepare('SELECT key, route, due_at, last_read_at, reads, failures, rate FROM schedule')
    this.#seen = db.prepare('SELECT digest, fetched_at, body, headers FROM schedule WHERE key = ?')
    this.#setSeen = db.prepare(
      'UPDATE schedule SET digest = ?, fetched_at = ?, body = ?, headers = ? WHERE key = ?',
    )
    this.#confirm = db.prepare('UPDATE schedule SET fetched_at = ? WHERE key = ?')
  }

  all(): ScheduleRow[] {
    return this.#all.all().map((r) => ({
      key: r.key,
      route: r.route,
      dueAt: r.due_at,
      lastReadAt: r.last_read_at,
      reads: r.reads,
      failures: r.failures,
      ...(r.rate !== null && { rate: parseJson(r.rate) }),
    }))
  }

  upsert(row: Omit<ScheduleRow, 'failures'>): void {
    this.#insert.run(row.key, row.route, row.dueAt, row.lastReadAt, row.reads, jsonOrNull(row.rate))
  }

  touch(key: string, lastReadAt: number, reads: number): void {
    this.#touch.run(lastReadAt, reads, key)
  }

  setDue(key: string, dueAt: number, failures: number, rate?: unknown): void {
    this.#due.run(dueAt, failures, jsonOrNull(rate), key)
  }

  delete(key: string): void {
    this.#delete.run(key)
  }

  seen(key: string): Seen | undefined {
    const row = this.#seen.get(key)
    if (!row || row.digest === null || row.fetched_at === null) return undefined
    const headers = row.headers ? (JSON.parse(row.headers) as Record<string, string>) : {}
    return { digest: row.digest, fetchedAt: row.fetched_at, body: row.body, headers }
  }

  /** Record a new version (no-op for keys not in the schedule, such as one-shot refreshes). */
  setSeen(key: string, seen: Seen): void {
    const body = seen.body && seen.body.byteLength <= MAX_SEEN_BODY ? seen.body : null
    this.#setSeen.run(seen.digest, seen.fetchedAt, body, JSON.stringify(seen.headers), key)
  }

  /** The same version, confirmed again by the upstream. */
  confirm(key: string, fetchedAt: number): void {
    this.#confirm.run(fetchedAt, key)
  }
}

const jsonOrNull = (value: unknown) => (value === undefined ? null : JSON.stringify(value))

/** A damaged rate column reads as no rate: the key starts learning again rather than failing to load. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
