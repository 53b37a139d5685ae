import type { PostgresConnection } from './connection.js'

export interface HeartbeatOptions {
  /** How often this instance says it is alive (default 2 s). */
  everyMs?: number
  /** An instance not heard from for this long no longer counts (default 3 beats). */
  liveForMs?: number
}

/**
 * Which instances are alive, for the budget's local share (rate ÷ live instances) when the server is
 * away: each instance stamps its row with the server's time every beat and counts the rows stamped
 * recently. When a beat fails the last count stays: the share the instances last agreed on.
 */
export class Heartbeat {
  readonly #connection: PostgresConnection
  readonly #instanceId: string
  readonly #everyMs: number
  readonly #liveForMs: number
  #live = 1
  #timer: NodeJS.Timeout | undefined

  constructor(connection: PostgresConnection, instanceId: string, options: HeartbeatOptions = {}) {
    this.#connection = connection
    this.#instanceId = instanceId
    this.#everyMs = options.everyMs ?? 2000
    this.#liveForMs = options.liveForMs ?? 3 * this.#everyMs
  }

  /** Instances seen alive at the last beat, this one included (at least 1). */
  live(): number {
    return this.#live
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.beat().catch(() => {}), this.#everyMs)
    this.#timer.unref()
    await this.beat().catch(() => {})
  }

  async beat(): Promise<void> {
    const instances = this.#connection.table('instances')
    const now = `${this.#connection.schema}.now_ms()`
    const { rows } = await this.#connection.query<{ others: number }>(
      'heartbeat',
      `WITH beat AS (INSERT INTO ${instances} (id, seen_at) VALUES ($1, ${now})
          ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at RETURNING id),
        pruned AS (DELETE FROM ${instances} WHERE seen_at < ${now} - 10 * $2::float8)
      SELECT count(*)::int AS others FROM ${instances} WHERE id <> $1 AND seen_at > ${now} - $2`,
      [this.#instanceId, this.#liveForMs],
    )
    this.#live = 1 + (rows[0]?.others ?? 0)
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#connection
      .query('heartbeat', `DELETE FROM ${this.#connection.table('instances')} WHERE id = $1`, [
        this.#instanceId,
      ])
      .catch(() => {})
  }
}
