import { createHash } from 'node:crypto'
import { StoreError } from '../../util/errors.js'
import type { RedisClient } from './connection.js'

/**
 * A Lua script run by its SHA (EVALSHA), loaded with EVAL the first time a server has not seen it
 * (after a start or a restart of Redis, or on a Cluster node that has not run it yet). One atomic step
 * on the server: the scripts read the server's `TIME`, never an instance's clock.
 */
export class RedisScript {
  readonly #lua: string
  readonly #sha: string
  readonly #what: string

  /** `what` names the operation in errors ("ceiling take"). */
  constructor(what: string, lua: string) {
    this.#what = what
    this.#lua = lua
    this.#sha = createHash('sha1').update(lua).digest('hex')
  }

  /** Runs the script; every failure (timeout, connection, script error) is a StoreError. */
  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      try {
        return await client.evalsha(this.#sha, keys.length, ...keys, ...args)
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        return await client.eval(this.#lua, keys.length, ...keys, ...args)
      }
    } catch (error) {
      throw new StoreError('redis', this.#what, error)
    }
  }
}
