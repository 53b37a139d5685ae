import type { RedisConnection } from '../../src/stores/redis/connection.js'

/** Commands fail at once until a connection is up (it has no offline queue): wait for it. */
export async function ready(connection: RedisConnection): Promise<RedisConnection> {
  if (connection.client.status !== 'ready') {
    await new Promise((resolve) => connection.client.once('ready', resolve))
  }
  return connection
}
