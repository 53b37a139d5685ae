import type { PostgresConnection } from './connection.js'

/** A row of a table numbered by a bigserial `seq`. */
export interface SequencedRow {
  seq: number
}

export interface SequenceFeedOptions<R extends SequencedRow> {
  connection: PostgresConnection
  /** The NOTIFY channel writers signal on (the payload is not read: the rows are). */
  channel: string
  /** Rows with seq > `after`, in seq order, at most `limit`. */
  read: (after: number, limit: number) => Promise<R[]>
  /** The smallest and largest seq the table holds (nulls when empty). */
  bounds: () => Promise<{ min: number | null; max: number | null }>
  /** New rows, each once. */
  deliver: (rows: R[]) => void
  /** Rows may have been missed (trimmed away, the table recreated, a start while the server was away). */
  gap?: (reason: string) => void
  /**
   * Deliver in seq order, holding rows back behind a missing seq until it shows up or HOLE_GRACE_MS
   * passes (a change feed). Without it, rows are delivered as they become visible (invalidations,
   * which commute, and whose latency matters more than their order).
   */
  inOrder: boolean
  /** Safety-net read interval, ms (default 1000): covers a notice lost to a flaky listening connection, and checks the bounds. */
  pollMs?: number
}

const PAGE = 1000
/**
 * How long a missing seq is waited for. Two writers take seqs 5 and 6; 6 may commit (and be read)
 * before 5 does. A seq missing for longer belongs to a write that rolled back: a permanent hole.
 */
const HOLE_GRACE_MS = 2000

/**
 * Reads a sequence-numbered table as a stream: on every notice on its channel, on a slow poll, and
 * whenever the listening connection comes back, it reads the rows after the last one it handled.
 * What it handled is a watermark (every seq at or below it handled) plus the seqs above it already
 * delivered, so out-of-order commits are neither skipped nor delivered twice.
 *
 * Gaps: on each (re)connection the table's bounds are checked against the watermark. Rows trimmed
 * away before this instance read them (min > watermark + 1), or a table that went back in time
 * (max < watermark: recreated), mean rows were missed: `gap` is told, and reading resumes from the
 * table's end.
 */
export class SequenceFeed<R extends SequencedRow> {
  readonly #options: SequenceFeedOptions<R>
  #watermark: number | undefined
  readonly #delivered = new Set<number>()
  /** Rows held back behind a hole (inOrder), by seq. */
  readonly #held = new Map<number, R>()
  #holeSince: number | undefined
  #reading: Promise<void> | undefined
  #again = false
  #checkBounds = true
  #startedBlind = false
  #timer: NodeJS.Timeout | undefined
  readonly #unsubscribe: (() => void)[] = []
  #stopped = false

  constructor(options: SequenceFeedOptions<R>) {
    this.#options = options
  }

  /** Starts at the table's current end: rows from now on. Never rejects (an unreachable server is retried). */
  async start(): Promise<void> {
    const { connection, channel } = this.#options
    const listener = connection.listener
    this.#unsubscribe.push(listener.listen(channel, () => this.poke()))
    this.#unsubscribe.push(
      listener.onReconnect(() => {
        this.#checkBounds = true
        this.poke()
      }),
    )
    // The slow poll also checks the table's bounds: a table truncated or recreated while this
    // instance stayed connected is found within a poll, not at the next reconnection.
    this.#timer = setInterval(() => {
      this.#checkBounds = true
      this.poke()
    }, this.#options.pollMs ?? 1000)
    this.#timer.unref()
    try {
      const { max } = await this.#options.bounds()
      this.#watermark ??= max ?? 0
      this.#checkBounds = false
    } catch {
      // Not known where the table ended when this instance started: whatever it caches before the
      // server answers may have been invalidated meanwhile.
      this.#startedBlind = true
    }
    await listener.start()
  }

  /** Reads now (coalesced: a read under way is followed by one more). */
  poke(): void {
    if (this.#stopped) return
    if (this.#reading) {
      this.#again = true
      return
    }
    this.#reading = this.#readAll()
      .catch(() => {
        // The server is away: the breaker says so; the next notice, poll or reconnection reads again.
      })
      .finally(() => {
        this.#reading = undefined
        if (this.#again) {
          this.#again = false
          this.poke()
        }
      })
  }

  /** Resolves once no read is under way (tests). */
  async idle(): Promise<void> {
    while (this.#reading) await this.#reading
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
  }

  async #readAll(): Promise<void> {
    const { connection } = this.#options
    if (!connection.healthy()) return
    if (this.#watermark === undefined || this.#checkBounds) await this.#resync()
    // Pages follow a cursor of their own: the watermark stays behind a hole still within its grace,
    // and reading from it again would return the same page each time.
    let after = this.#watermark!
    for (let pages = 0; pages < 100 && !this.#stopped; pages++) {
      const rows = await this.#options.read(after, PAGE)
      this.#take(rows)
      if (rows.length < PAGE) return
      after = Math.max(rows.at(-1)!.seq, this.#watermark!)
    }
  }

  async #resync(): Promise<void> {
    const { min, max } = await this.#options.bounds()
    const watermark = this.#watermark
    this.#checkBounds = false
    if (watermark === undefined || this.#startedBlind) {
      this.#startedBlind = false
      this.#watermark = max ?? 0
      if (watermark === undefined) this.#options.gap?.('started while the server was unreachable')
      return
    }
    // Trimming always keeps the newest row, so only a recreated table is empty behind a watermark.
    let reason: string | undefined
    if (max === null ? watermark > 0 : max < watermark)
      reason = 'the table is behind this instance (recreated or restored)'
    else if (min !== null && min > watermark + 1)
      reason = 'messages were trimmed before this instance read them'
    if (reason === undefined) return
    this.#delivered.clear()
    this.#held.clear()
    this.#holeSince = undefined
    this.#watermark = max ?? 0
    this.#options.gap?.(reason)
  }

  #take(rows: R[]): void {
    const fresh: R[] = []
    for (const row of rows) {
      if (row.seq <= this.#watermark! || this.#delivered.has(row.seq) || this.#held.has(row.seq)) continue
      if (this.#options.inOrder) this.#held.set(row.seq, row)
      else {
        this.#delivered.add(row.seq)
        fresh.push(row)
      }
    }
    if (!this.#options.inOrder && fresh.length > 0) this.#options.deliver(fresh)
    this.#advance()
  }

  /** Moves the watermark over every seq handled; across a hole only once it is older than the grace. */
  #advance(): void {
    const inOrder = this.#options.inOrder
    const ready: R[] = []
    const pending = () => (inOrder ? this.#held.size : this.#delivered.size)
    while (pending() > 0) {
      const next = this.#watermark! + 1
      const held = this.#held.get(next)
      if (held) {
        this.#held.delete(next)
        ready.push(held)
        this.#holeSince = undefined
      } else if (this.#delivered.delete(next)) {
        this.#holeSince = undefined
      } else {
        const now = Date.now()
        this.#holeSince ??= now
        // Within the grace the write may still commit; past it, it rolled back and nothing will fill
        // it (nor the holes right after it, which were seen as long).
        if (now - this.#holeSince < HOLE_GRACE_MS) break
      }
      this.#watermark = next
    }
    if (ready.length > 0) this.#options.deliver(ready)
  }
}
