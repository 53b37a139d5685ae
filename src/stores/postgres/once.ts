import type { OnceRegistry } from '../coordination.js'
import type { PostgresConnection } from './connection.js'

/**
 * "Act on this once" on Postgres: the first caller of (scope, id) inserts its row, with an expiry on
 * the server's clock; every later caller within it finds the row there. An expired row is taken over
 * by the next caller, in the same statement.
 */
export function createPostgresOnce(connection: PostgresConnection): OnceRegistry & { trim(): Promise<void> } {
  const once = connection.table('once')
  const now = `${connection.schema}.now_ms()`
  return {
    async first(scope, id, ttlMs) {
      const { rows } = await connection.query(
        'once',
        `INSERT INTO ${once} (scope, id, expires_at) VALUES ($1, $2, ${now} + $3)
        ON CONFLICT (scope, id) DO UPDATE SET expires_at = excluded.expires_at
        WHERE ${once}.expires_at <= ${now}
        RETURNING 1`,
        [scope, id, ttlMs],
      )
      return rows.length === 1
    },
    async trim() {
      await connection.query(
        'once trim',
        `DELETE FROM ${once} WHERE (scope, id) IN (SELECT scope, id FROM ${once} WHERE expires_at <= ${now}
          LIMIT 5000 FOR UPDATE SKIP LOCKED)`,
      )
    },
  }
}
