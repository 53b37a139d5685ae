import type { SharedCeiling } from '../coordination.js'
import type { PostgresConnection } from './connection.js'
import type { Heartbeat } from './heartbeat.js'

/**
 * The upstream ceiling shared by every instance: GCRA per bucket in one server-side function
 * (`ceiling_take`, schema.ts) on the server's clock, which locks the bucket's row for the length of
 * one statement. A pause sets the bucket's `paused_until` and never shortens a longer one.
 */
export function createPostgresCeiling(connection: PostgresConnection, heartbeat: Heartbeat): SharedCeiling {
  const ceiling = connection.table('ceiling')
  const now = `${connection.schema}.now_ms()`
  return {
    async take(bucket, rate, lane) {
      const { rows } = await connection.query<{
        granted: boolean
        retry_ms: number
        paused_for: string | null
      }>(
        'ceiling take',
        `SELECT granted, retry_ms, paused_for FROM ${connection.schema}.ceiling_take($1, $2, $3, $4, $5)`,
        [bucket, rate.intervalMs, rate.burst, rate.reserve, lane === 'background'],
      )
      const row = rows[0]!
      if (row.granted) return { granted: true }
      const retryInMs = Math.max(1, Math.ceil(row.retry_ms))
      return row.paused_for === null
        ? { granted: false, retryInMs }
        : { granted: false, retryInMs, pausedFor: row.paused_for }
    },
    async pause(bucket, forMs, reason) {
      await connection.query(
        'ceiling pause',
        `INSERT INTO ${ceiling} (bucket, paused_until, pause_reason) VALUES ($1, ${now} + $2, $3)
        ON CONFLICT (bucket) DO UPDATE SET paused_until = excluded.paused_until,
          pause_reason = excluded.pause_reason
        WHERE ${ceiling}.paused_until < excluded.paused_until`,
        [bucket, forMs, reason],
      )
    },
    liveInstances: () => heartbeat.live(),
  }
}
