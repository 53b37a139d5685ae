import type { SharedChange, SharedChangeLog } from '../coordination.js'
import type { PostgresConnection } from './connection.js'
import { SequenceFeed } from './feed.js'

export interface PostgresChangeLogOptions {
  /** Events kept (default 1000); older ones are trimmed as new ones arrive. */
  capacity?: number
}

interface ChangeRow {
  seq: number
  id: string
  route: string
  json: string
}

/**
 * The change feed shared by every instance: a table of events numbered by a bigserial. An event is
 * appended once (an id already there is ignored) and NOTIFYs "look"; `since` pages by the position of
 * the event the client saw last, so ids mean the same on every instance; `tail` reads the rows after
 * the last it delivered, in order (feed.ts). The oldest events are trimmed past the capacity.
 */
export function createPostgresChangeLog(
  connection: PostgresConnection,
  options: PostgresChangeLogOptions = {},
): SharedChangeLog & { close(): void } {
  const changes = connection.table('changes')
  const channel = connection.listener.channel('changes')
  const capacity = options.capacity ?? 1000
  const tails = new Set<(event: SharedChange) => void>()
  let feed: SequenceFeed<ChangeRow> | undefined

  const toChange = (row: ChangeRow): SharedChange => ({ id: row.id, route: row.route, json: row.json })

  return {
    async append(event) {
      // Inserted only when the id is new, so a repeated id takes no seq (a seq hole would hold the tail back).
      await connection.query(
        'changes append',
        `WITH added AS (
          INSERT INTO ${changes} (id, route, json) SELECT $1, $2, $3
            WHERE NOT EXISTS (SELECT 1 FROM ${changes} WHERE id = $1)
          ON CONFLICT (id) DO NOTHING RETURNING seq),
        trimmed AS (DELETE FROM ${changes} WHERE seq <= (SELECT seq FROM added) - $4)
        SELECT pg_notify($5, seq::text) FROM added`,
        [event.id, event.route, event.json, capacity, channel],
      )
    },

    async since(lastEventId, limit) {
      if (lastEventId === undefined) {
        const { rows } = await connection.query<ChangeRow>(
          'changes since',
          `SELECT seq, id, route, json FROM ${changes} ORDER BY seq LIMIT $1`,
          [limit],
        )
        return rows.map(toChange)
      }
      const { rows } = await connection.query<ChangeRow & { anchor: number }>(
        'changes since',
        `SELECT a.seq AS anchor, c.seq, c.id, c.route, c.json
        FROM (SELECT seq FROM ${changes} WHERE id = $1) a
        LEFT JOIN LATERAL (SELECT seq, id, route, json FROM ${changes} WHERE seq > a.seq ORDER BY seq LIMIT $2) c
          ON true
        ORDER BY c.seq`,
        [lastEventId, limit],
      )
      if (rows.length === 0) return undefined
      return rows.filter((row) => row.id !== null).map(toChange)
    },

    tail(listener) {
      tails.add(listener)
      if (!feed) {
        feed = new SequenceFeed<ChangeRow>({
          connection,
          channel,
          inOrder: true,
          read: async (after, limit) =>
            (
              await connection.query<ChangeRow>(
                'changes tail',
                `SELECT seq, id, route, json FROM ${changes} WHERE seq > $1 ORDER BY seq LIMIT $2`,
                [after, limit],
              )
            ).rows,
          bounds: async () =>
            (
              await connection.query<{ min: number | null; max: number | null }>(
                'changes tail',
                `SELECT min(seq) AS min, max(seq) AS max FROM ${changes}`,
              )
            ).rows[0]!,
          deliver: (rows) => {
            for (const row of rows) for (const tail of tails) tail(toChange(row))
          },
        })
        void feed.start()
      }
      return () => {
        tails.delete(listener)
      }
    },

    close() {
      feed?.stop()
    },
  }
}
