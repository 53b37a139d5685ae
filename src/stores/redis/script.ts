import { createHash } from 'node:crypto'
import type { RedisClient } from './connection.js'

/**
 * A Lua script run by its SHA1 (EVALSHA), sent whole only when the server does not know it yet
 * (after a restart or a failover): the script text is not resent on every call. Every key it touches
 * is passed in `keys` (Redis Cluster routes by them; they must share a slot).
 */
export class RedisScript {
  readonly source: string
  readonly sha: string

  constructor(source: string) {
    this.source = source
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return await client.eval(this.source, keys.length, ...keys, ...args)
    }
  }
}
