import type { InvalidationBus, InvalidationListener, InvalidationMessage } from '../coordination.js'
import type { Selector } from '../store.js'
import type { PostgresConnection } from './connection.js'
import { SequenceFeed } from './feed.js'

export interface PostgresBusOptions {
  /** How long messages are kept for instances that were away (default 10 min); longer away is a gap. */
  retentionMs?: number
}

interface BusRow {
  seq: number
  instance: string
  at: number
  soft: boolean
  selector: string
}

/**
 * The invalidation bus on Postgres: each message is a row of `bus` (numbered by a bigserial, stamped
 * with the server's time) followed by a NOTIFY carrying nothing but "look". Every instance reads the
 * rows after the last one it handled (feed.ts): on a notice, on a slow poll, and when its listening
 * connection comes back, so a notice missed while away costs nothing. Rows trimmed before an instance
 * read them, or a table recreated behind it, are a gap: its listeners drop their memory tiers.
 */
export interface PostgresBus extends InvalidationBus {
  start(): Promise<void>
  /** Drops messages past the retention (always keeping the newest, which marks where the table ends). */
  trim(): Promise<void>
  /** Resolves once no read is under way (tests). */
  idle(): Promise<void>
  close(): void
}

export function createPostgresBus(
  connection: PostgresConnection,
  instanceId: string,
  options: PostgresBusOptions = {},
): PostgresBus {
  const bus = connection.table('bus')
  const channel = connection.listener.channel('bus')
  const retentionMs = options.retentionMs ?? 600_000
  const listeners = new Set<InvalidationListener>()
  const feed = new SequenceFeed<BusRow>({
    connection,
    channel,
    inOrder: false,
    read: async (after, limit) =>
      (
        await connection.query<BusRow>(
          'bus read',
          `SELECT seq, instance, at, soft, selector FROM ${bus} WHERE seq > $1 ORDER BY seq LIMIT $2`,
          [after, limit],
        )
      ).rows,
    bounds: async () =>
      (
        await connection.query<{ min: number | null; max: number | null }>(
          'bus read',
          `SELECT min(seq) AS min, max(seq) AS max FROM ${bus}`,
        )
      ).rows[0]!,
    deliver: (rows) => {
      for (const row of rows) {
        if (row.instance === instanceId) continue
        const message: InvalidationMessage = {
          selector: JSON.parse(row.selector) as Selector,
          soft: row.soft,
        }
        for (const listener of listeners) listener.invalidate(message, row.at)
      }
    },
    gap: (reason) => {
      for (const listener of listeners) listener.gap(reason)
    },
  })
  return {
    async publish(message) {
      await connection.query(
        'bus publish',
        `WITH m AS (INSERT INTO ${bus} (instance, at, soft, selector)
          VALUES ($1, ${connection.schema}.now_ms(), $2, $3) RETURNING seq)
        SELECT pg_notify($4, m.seq::text) FROM m`,
        [instanceId, message.soft, JSON.stringify(message.selector), channel],
      )
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    start: () => feed.start(),
    async trim() {
      // A chunk per statement: a long backlog is dropped without one long lock.
      for (let chunks = 0; chunks < 100; chunks++) {
        const { rowCount } = await connection.query(
          'bus trim',
          `DELETE FROM ${bus} WHERE seq IN (SELECT seq FROM ${bus}
            WHERE at < ${connection.schema}.now_ms() - $1 AND seq < (SELECT max(seq) FROM ${bus})
            ORDER BY seq LIMIT 5000)`,
          [retentionMs],
        )
        if ((rowCount ?? 0) < 5000) return
      }
    },
    idle: () => feed.idle(),
    close: () => feed.stop(),
  }
}
