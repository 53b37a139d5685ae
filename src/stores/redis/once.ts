import { createHash } from 'node:crypto'
import type { OnceRegistry } from '../coordination.js'
import type { RedisConnection } from './connection.js'

/**
 * "Act on this once" on Redis: `SET NX PX` on a key per (scope, id), so the first caller on any
 * instance wins and every later one, within `ttlMs`, learns it was not first. The key names a digest
 * of (scope, id), never the id itself: ids come from senders (webhook ids), so they are kept out of
 * the key layout and bounded in length, and no two (scope, id) pairs can share a key.
 */
export function createRedisOnce(connection: RedisConnection, instanceId: string): OnceRegistry {
  return {
    async first(scope, id, ttlMs) {
      const digest = createHash('sha256')
        .update(JSON.stringify([scope, id]))
        .digest('base64url')
      const key = connection.key(digest, 'once', digest)
      const reply = await connection.call('once', (client) =>
        client.set(key, instanceId, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
      )
      return reply === 'OK'
    },
  }
}
