import { once } from 'node:events'
import { RedisConnection } from '../../src/stores/redis/connection.js'

/** A connection that has connected: commands are not queued while connecting, so tests wait first. */
export async function connected(
  url: string,
  namespace: string,
  timeoutMs?: number,
): Promise<RedisConnection> {
  const connection = new RedisConnection({ url, namespace, ...(timeoutMs !== undefined && { timeoutMs }) })
  if (connection.client.status !== 'ready') await once(connection.client, 'ready')
  return connection
}
