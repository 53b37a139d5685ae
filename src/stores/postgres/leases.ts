import { createHash, randomUUID } from 'node:crypto'
import type { Lease, Leases } from '../coordination.js'
import type { PostgresConnection } from './connection.js'
import { quoteLiteral } from './identifier.js'

export interface PostgresLeases extends Leases {
  /** Drops rows of leases that expired long ago (keys nobody fetched since). */
  trim(): Promise<void>
}

/** While waiting, the lease row is looked at this often at first, doubling up to the second. */
const POLL_FIRST_MS = 100
const POLL_MAX_MS = 1000

/**
 * Single-flight across instances on Postgres, with lease rows rather than advisory locks: a row
 * works through transaction poolers (a session lock does not) and holds a token, a fence and an
 * expiry on the server's clock. Acquire inserts the row, or takes it over when the one there has
 * expired, in one statement. The fence comes from `versions`, the sequence the store's unfenced
 * writes use too, so every write is ordered against every lease.
 *
 * The holder renews every third of the lease; a renewal that finds the row gone or another token,
 * or no renewal succeeding for a whole lease (the server away), aborts `signal`. Release deletes the
 * row (only with the holder's token) and NOTIFYs a hash of the key; waiters listen for it and look at
 * the row on a slow, bounded poll besides, which finds a dead holder's lease expired.
 */
export function createPostgresLeases(connection: PostgresConnection, instanceId: string): PostgresLeases {
  const leases = connection.table('leases')
  const now = `${connection.schema}.now_ms()`
  const channel = connection.listener.channel('lease')
  const waiters = new Map<string, Set<() => void>>()
  let listening = false

  const listen = () => {
    if (listening) return
    listening = true
    connection.listener.listen(channel, (payload) => {
      for (const wake of waiters.get(payload) ?? []) wake()
    })
  }

  return {
    async acquire(key, ttlMs) {
      const token = `${instanceId}:${randomUUID()}`
      const { rows } = await connection.query<{ fence: number }>(
        'lease acquire',
        `INSERT INTO ${leases} (key, token, fence, expires_at)
          VALUES ($1, $2, nextval(${quoteLiteral(connection.table('versions'))}), ${now} + $3)
        ON CONFLICT (key) DO UPDATE SET token = excluded.token, fence = excluded.fence,
          expires_at = excluded.expires_at
        WHERE ${leases}.expires_at <= ${now}
        RETURNING fence`,
        [key, token, ttlMs],
      )
      const fence = rows[0]?.fence
      if (fence === undefined) return undefined
      return holdLease(connection, key, token, fence, ttlMs, channel)
    },

    waitFor(key, timeoutMs) {
      listen()
      const hash = keyHash(key)
      return new Promise<boolean>((resolve, reject) => {
        let settled = false
        let poll: NodeJS.Timeout | undefined
        let delay = POLL_FIRST_MS
        const finish = (released: boolean | { failed: unknown }) => {
          if (settled) return
          settled = true
          clearTimeout(deadline)
          clearTimeout(poll)
          const set = waiters.get(hash)
          set?.delete(wake)
          if (set?.size === 0) waiters.delete(hash)
          if (typeof released === 'boolean') resolve(released)
          else reject(released.failed)
        }
        const wake = () => finish(true)
        const look = () => {
          poll = setTimeout(() => {
            connection
              .query<{ held: boolean }>(
                'lease wait',
                `SELECT expires_at > ${now} AS held FROM ${leases} WHERE key = $1`,
                [key],
              )
              .then(
                ({ rows }) => {
                  if (rows[0]?.held !== true) finish(true)
                  else look()
                },
                // The server did not answer (or the breaker is open): nothing tells this waiter the
                // holder is done, so it would sit out its whole timeout (a lease: seconds) while the
                // request waits. Give up at once; the caller fetches on its own (engine/fetch/flight.ts).
                (error: unknown) => finish({ failed: error }),
              )
            delay = Math.min(delay * 2, POLL_MAX_MS)
          }, delay)
          poll.unref()
        }
        const deadline = setTimeout(() => finish(false), timeoutMs)
        deadline.unref()
        const set = waiters.get(hash) ?? new Set()
        waiters.set(hash, set)
        set.add(wake)
        look()
      })
    },

    async trim() {
      await connection.query(
        'lease trim',
        `DELETE FROM ${leases} WHERE key IN (SELECT key FROM ${leases} WHERE expires_at < ${now} - 60000
          LIMIT 5000 FOR UPDATE SKIP LOCKED)`,
      )
    },
  }
}

function holdLease(
  connection: PostgresConnection,
  key: string,
  token: string,
  fence: number,
  ttlMs: number,
  channel: string,
): Lease {
  const leases = connection.table('leases')
  const now = `${connection.schema}.now_ms()`
  const controller = new AbortController()
  let renewedAt = Date.now()
  let released = false
  const lose = (reason: string) => {
    clearInterval(renewal)
    if (!controller.signal.aborted) controller.abort(new Error(`lease on ${key} lost: ${reason}`))
  }
  const renewal = setInterval(
    () => {
      if (Date.now() - renewedAt >= ttlMs) return lose('not renewed within its lease (server unreachable)')
      connection
        .query('lease renew', `UPDATE ${leases} SET expires_at = ${now} + $3 WHERE key = $1 AND token = $2`, [
          key,
          token,
          ttlMs,
        ])
        .then(
          ({ rowCount }) => {
            if (released) return
            if (rowCount === 0) lose('taken over after it expired')
            else renewedAt = Date.now()
          },
          () => {},
        )
    },
    Math.max(Math.floor(ttlMs / 3), 10),
  )
  renewal.unref()
  return {
    key,
    fence,
    signal: controller.signal,
    async release() {
      if (released) return
      released = true
      clearInterval(renewal)
      await connection
        .query(
          'lease release',
          `WITH gone AS (DELETE FROM ${leases} WHERE key = $1 AND token = $2 RETURNING key)
          SELECT pg_notify($3, $4) FROM gone`,
          [key, token, channel, keyHash(key)],
        )
        .catch(() => {
          // Never throws: an unreleased lease simply expires.
        })
    },
  }
}

/** NOTIFY payloads are bounded (8000 bytes) and keys are not: a notice names a key by its hash. */
function keyHash(key: string): string {
  return createHash('sha1').update(key).digest('base64url')
}
