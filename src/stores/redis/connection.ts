import { createHash } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
import { StoreError } from '../../util/errors.js'

export type RedisClient = Redis | Cluster

export interface RedisConnectionOptions {
  /** redis://, rediss:// or a Sentinel URL (ioredis). Ignored when `client` is given. */
  url?: string
  /** A client the caller owns (a Cluster, a Sentinel client, one shared with the app): never closed here. */
  client?: RedisClient
  /** Prefix of every key, so several deployments share one server (default 'cistern'). */
  namespace?: string
  /** Deadline of every command (default 1000 ms): past it the call fails with a StoreError. */
  timeoutMs?: number
}

export interface DuplicateOptions {
  /** CLIENT SETNAME: lets an operator (and a failure test) tell this connection apart in CLIENT LIST. */
  name?: string
  /** The deadline of its commands, when they may legitimately wait (XREAD BLOCK waits up to its BLOCK). */
  commandTimeoutMs?: number
  /**
   * False: a command under way when the connection drops fails, instead of being sent again once it
   * is back (ioredis' default), so the caller learns that it was disconnected.
   */
  resendAfterReconnect?: boolean
}

/**
 * One Redis connection for the store and every coordination part, with the rules they all follow:
 * every command has a deadline, nothing queues while disconnected (a call fails at once instead of
 * hanging until the server returns), and keys follow one layout (`key()`).
 */
export class RedisConnection {
  readonly client: RedisClient
  readonly namespace: string
  readonly timeoutMs: number
  readonly #owned: boolean
  readonly #duplicates: RedisClient[] = []

  constructor(options: RedisConnectionOptions) {
    this.namespace = options.namespace ?? 'cistern'
    this.timeoutMs = options.timeoutMs ?? 1000
    if (options.client) {
      this.client = options.client
      this.#owned = false
    } else {
      if (!options.url) throw new StoreError('redis', 'open', 'store.url is required for kind redis')
      this.client = new Redis(options.url, clientOptions(this.timeoutMs))
      this.#owned = true
    }
    // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
    this.client.on('error', () => {})
  }

  /**
   * The key of `parts` under the namespace, in the Cluster slot of `slot`: keys a script touches
   * together must share a slot, so they share `slot`. The slot is a hash of the caller's text, so no
   * brace in a cache key can change which slot a key lands in.
   */
  key(slot: string, ...parts: string[]): string {
    return `${this.namespace}:{${slotTag(slot)}}:${parts.join(':')}`
  }

  /**
   * Another connection to the same server: for blocking reads (XREAD BLOCK), which hold their
   * connection for as long as they wait. Closed with this one.
   */
  duplicate(options: DuplicateOptions = {}): RedisClient {
    const client = this.client
    const override = {
      ...(options.name !== undefined && { connectionName: options.name }),
      ...(options.commandTimeoutMs !== undefined && { commandTimeout: options.commandTimeoutMs }),
      ...(options.resendAfterReconnect === false && { autoResendUnfulfilledCommands: false }),
    }
    const copy: RedisClient =
      client instanceof Cluster
        ? client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...override } })
        : client.duplicate(override)
    copy.on('error', () => {})
    this.#duplicates.push(copy)
    return copy
  }

  async close(): Promise<void> {
    for (const copy of this.#duplicates) copy.disconnect()
    if (this.#owned) this.client.disconnect()
  }
}

function clientOptions(timeoutMs: number) {
  return {
    commandTimeout: timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: Math.max(timeoutMs, 1000),
    // Reconnect forever, backing off to 1 s: the server coming back must be noticed without a restart.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    lazyConnect: false,
  }
}

/** A short stable tag for a Cluster hash slot (braces and all other characters hashed away). */
export function slotTag(text: string): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, 8)
}

/**
 * Resolves true once `client` takes commands, false after `timeoutMs` (or when it has been closed).
 * Nothing queues while a client connects (no offline queue): a part that starts with the process waits
 * here first rather than fail its first call.
 */
export function whenReady(client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true)
  if (client.status === 'end') return Promise.resolve(false)
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer)
      client.off('ready', onReady)
      client.off('end', onEnd)
      resolve(ready)
    }
    const onReady = () => done(true)
    const onEnd = () => done(false)
    const timer = setTimeout(() => done(false), timeoutMs)
    client.on('ready', onReady)
    client.on('end', onEnd)
  })
}
