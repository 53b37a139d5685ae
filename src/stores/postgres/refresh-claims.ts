import { randomUUID } from 'node:crypto'
import type { Busy, RefreshClaim, RefreshClaims, SharedSeen } from '../coordination.js'
import type { PostgresConnection } from './connection.js'

export interface PostgresRefreshClaimsOptions {
  /** Bodies above this are not kept in the shared seen record (default 256 KB): patches need them, digests do not. */
  maxSeenBody?: number
}

/**
 * Each due refresh once across the cluster. A claim is a row in `refresh_claims`: 'running' with the
 * claimer's token until its lease runs out (renewed every third of it while the refresh runs), then
 * 'done' until the key is next due. Claiming is one statement: insert the row, or take it over when
 * the one there has run out (a done marker past its time, or a claimer that died mid-refresh) or, for
 * a forced claim, when it is a done marker at all; when it cannot, the same statement reports the row
 * that stopped it, so the caller learns when to look again. What the refresh saw (digest, headers, a
 * bounded body) is kept in `refresh_seen` for every instance, written in the same statement that turns
 * the holder's claim into its done marker, so a holder that lost its claim records nothing.
 */
export function createPostgresRefreshClaims(
  connection: PostgresConnection,
  instanceId: string,
  options: PostgresRefreshClaimsOptions = {},
): RefreshClaims & { trim(): Promise<void> } {
  const claims = connection.table('refresh_claims')
  const seenTable = connection.table('refresh_seen')
  const now = `${connection.schema}.now_ms()`
  const maxSeenBody = options.maxSeenBody ?? 256 * 1024

  /**
   * Done, if `token` still holds the claim: the claim becomes the done marker and what was seen is
   * recorded in one statement (the seen row is written only from the claim row the update returned).
   * False when the claim was lost (taken over, or released by a trim).
   */
  const finishClaim = async (
    key: string,
    token: string,
    nextInMs: number,
    seen: SharedSeen | undefined,
  ): Promise<boolean> => {
    const body = seen?.body != null && seen.body.byteLength <= maxSeenBody ? seen.body : null
    const held = `UPDATE ${claims} SET state = 'done', token = NULL, until = ${now} + $3
      WHERE key = $1 AND token = $2 AND state = 'running' RETURNING key`
    const { rows } = seen
      ? await connection.query<{ key: string }>(
          'refresh done',
          `WITH held AS (${held}), recorded AS (
            INSERT INTO ${seenTable} (key, digest, fetched_at, headers, body)
            SELECT key, $4::text, $5::float8, $6::text, $7::bytea FROM held
            ON CONFLICT (key) DO UPDATE SET digest = excluded.digest, fetched_at = excluded.fetched_at,
              headers = excluded.headers, body = excluded.body)
          SELECT key FROM held`,
          [
            key,
            token,
            Math.max(0, nextInMs),
            seen.digest,
            seen.fetchedAt,
            JSON.stringify(seen.headers),
            body,
          ],
        )
      : await connection.query<{ key: string }>('refresh done', held, [key, token, Math.max(0, nextInMs)])
    return rows.length > 0
  }

  return {
    async claim(key, leaseMs, options = {}): Promise<RefreshClaim | Busy> {
      const token = `${instanceId}:${randomUUID()}`
      const { rows } = await connection.query<{ state: string; retry: number }>(
        'refresh claim',
        `WITH taken AS (
          INSERT INTO ${claims} (key, state, token, until) VALUES ($1, 'running', $2, ${now} + $3)
          ON CONFLICT (key) DO UPDATE SET state = 'running', token = excluded.token, until = excluded.until
          WHERE ${claims}.until <= ${now} OR ($4::boolean AND ${claims}.state = 'done')
          RETURNING 'claimed'::text AS state, 0::float8 AS retry)
        SELECT state, retry FROM taken
        UNION ALL
        SELECT c.state, c.until - ${now} FROM ${claims} c WHERE c.key = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
        [key, token, leaseMs, options.force === true],
      )
      const row = rows[0]
      if (row === undefined) {
        // Another claimer's row appeared and went between the two halves of the statement: look again soon.
        return { claimed: false, state: 'running', retryInMs: 50 }
      }
      if (row.state !== 'claimed') {
        return {
          claimed: false,
          state: row.state === 'done' ? 'done' : 'running',
          retryInMs: Math.max(1, Math.ceil(row.retry)),
        }
      }
      return holdClaim(connection, key, token, leaseMs, finishClaim)
    },

    async seen(key) {
      const { rows } = await connection.query<{
        digest: string
        fetched_at: number
        headers: string
        body: Buffer | null
      }>('refresh seen', `SELECT digest, fetched_at, headers, body FROM ${seenTable} WHERE key = $1`, [key])
      const row = rows[0]
      if (row === undefined) return undefined
      return {
        digest: row.digest,
        fetchedAt: row.fetched_at,
        headers: JSON.parse(row.headers) as Record<string, string>,
        body: row.body,
      }
    },

    async trim() {
      // Markers long past: the keys were not refreshed since (a route removed, a key gone cold).
      await connection.query(
        'refresh trim',
        `DELETE FROM ${claims} WHERE key IN (SELECT key FROM ${claims} WHERE until < ${now} - 86400000
          LIMIT 5000 FOR UPDATE SKIP LOCKED)`,
      )
      // And what was seen of them (headers and up to maxSeenBody each): a seen row is only ever written
      // beside its claim, so one without a claim belongs to a key forgotten at least a day past its
      // due time (Redis lets the same record expire then), and the table stays bounded by the keys
      // refreshed in the last day.
      await connection.query(
        'refresh seen trim',
        `DELETE FROM ${seenTable} WHERE key IN (SELECT s.key FROM ${seenTable} s
          WHERE NOT EXISTS (SELECT 1 FROM ${claims} c WHERE c.key = s.key) LIMIT 5000 FOR UPDATE SKIP LOCKED)`,
      )
    },
  }
}

function holdClaim(
  connection: PostgresConnection,
  key: string,
  token: string,
  leaseMs: number,
  finishClaim: (
    key: string,
    token: string,
    nextInMs: number,
    seen: SharedSeen | undefined,
  ) => Promise<boolean>,
): RefreshClaim {
  const claims = connection.table('refresh_claims')
  const now = `${connection.schema}.now_ms()`
  const controller = new AbortController()
  let renewedAt = Date.now()
  let finished = false
  const lose = (reason: string) => {
    clearInterval(renewal)
    if (!controller.signal.aborted) controller.abort(new Error(`refresh claim on ${key} lost: ${reason}`))
  }
  const renewal = setInterval(
    () => {
      if (Date.now() - renewedAt >= leaseMs) return lose('not renewed within its lease (server unreachable)')
      connection
        .query(
          'refresh renew',
          `UPDATE ${claims} SET until = ${now} + $3 WHERE key = $1 AND token = $2 AND state = 'running'`,
          [key, token, leaseMs],
        )
        .then(
          ({ rowCount }) => {
            if (finished) return
            if (rowCount === 0) lose('taken over after its lease ran out')
            else renewedAt = Date.now()
          },
          () => {},
        )
    },
    Math.max(Math.floor(leaseMs / 3), 10),
  )
  renewal.unref()
  /** Stop renewing; false when the claim was already ended. */
  const finish = (): boolean => {
    clearInterval(renewal)
    if (finished) return false
    finished = true
    return true
  }
  return {
    claimed: true,
    signal: controller.signal,
    async done(nextInMs, seen) {
      // Already ended, or known lost: another holder (or none) has the key, and what it saw is theirs to record.
      if (!finish() || controller.signal.aborted) return
      let held: boolean
      try {
        held = await finishClaim(key, token, nextInMs, seen)
      } catch (error) {
        controller.abort(error)
        throw error
      }
      if (!held) lose('taken over before it was done')
    },
    async release() {
      if (!finish()) return
      await connection
        .query('refresh release', `DELETE FROM ${claims} WHERE key = $1 AND token = $2`, [key, token])
        .catch(() => {
          // The lease runs out instead.
        })
    },
  }
}
