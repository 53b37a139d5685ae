import { createHash } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
import { CisternError, StoreError } from '../../util/errors.js'

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
  /** How often an open breaker sends a PING to learn whether the server is back (default 500 ms). */
  probeIntervalMs?: number
}

/** A Lua script run by its SHA1, loaded on first use (and again after a server restart forgets it). */
export class RedisScript {
  readonly sha: string
  constructor(
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex')
  }
}

export type RedisArg = string | number | Buffer

/** Consecutive failed calls that open the breaker: one is a blip, three in a row is an outage. */
const BREAKER_THRESHOLD = 3

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
  readonly #probeIntervalMs: number
  /** A client the caller owns may have no commandTimeout of its own: then run() races a deadline. */
  readonly #ownDeadline: boolean
  #consecutiveFailures = 0
  #lastFailure = ''
  #probe: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: RedisConnectionOptions) {
    this.namespace = options.namespace ?? 'cistern'
    this.timeoutMs = options.timeoutMs ?? 1000
    this.#probeIntervalMs = options.probeIntervalMs ?? 500
    if (options.client) {
      this.client = options.client
      this.#owned = false
      this.#ownDeadline = true
    } else {
      this.#ownDeadline = false
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
  duplicate(): RedisClient {
    const client = this.client
    const copy: RedisClient = client instanceof Cluster ? client.duplicate() : client.duplicate()
    copy.on('error', () => {})
    this.#duplicates.push(copy)
    return copy
  }

  /**
   * The breaker: false while the server does not answer (BREAKER_THRESHOLD calls in a row failed, or
   * the connection is down). While open, calls fail at once instead of each waiting out its deadline,
   * and a PING every probeIntervalMs closes it again when the server answers: recovery needs no help.
   */
  healthy(): boolean {
    return this.#consecutiveFailures < BREAKER_THRESHOLD && this.client.status === 'ready'
  }

  /** Why healthy() is false, for /readyz and logs. */
  unhealthyReason(): string | undefined {
    if (this.healthy()) return undefined
    if (this.client.status !== 'ready') return `redis connection ${this.client.status}`
    return `redis not answering: ${this.#lastFailure}`
  }

  /**
   * Run a script on the slot of `keys[0]` (every key a script touches shares that slot). Resolves to
   * the reply (Buffers for bulk strings when `buffers`), rejects with a StoreError: E_STORE_TIMEOUT past
   * the deadline, E_STORE otherwise. `operation` names the call in the error.
   */
  run<T>(
    script: RedisScript,
    keys: readonly string[],
    args: readonly RedisArg[],
    buffers = false,
  ): Promise<T> {
    return this.call(script.name, async (client) => {
      const send = (command: 'evalsha' | 'eval', first: string) => {
        const argv = [first, keys.length, ...keys, ...args]
        return buffers ? client.callBuffer(command, argv) : client.call(command, argv)
      }
      try {
        return (await send('evalsha', script.sha)) as T
      } catch (error) {
        // A restarted (or flushed) server has forgotten its scripts: send the text once more.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        return (await send('eval', script.lua)) as T
      }
    })
  }

  /** Any other command(s), under the same deadline, breaker and error mapping as run(). */
  async call<T>(operation: string, command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new CisternError('E_CLOSED', `redis: ${operation} after close()`)
    if (this.#consecutiveFailures >= BREAKER_THRESHOLD) {
      throw new StoreError('redis', operation, `breaker open (${this.#lastFailure})`)
    }
    try {
      const result = await (this.#ownDeadline
        ? this.#withDeadline(command(this.client))
        : command(this.client))
      this.#consecutiveFailures = 0
      return result
    } catch (error) {
      // A script error (a bug, a wrong type at a key) says nothing about the server's health.
      if (!isReplyError(error)) this.#failed(error)
      throw toStoreError(operation, error)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#probe)
    for (const copy of this.#duplicates) copy.disconnect()
    if (this.#owned) this.client.disconnect()
  }

  #failed(error: unknown): void {
    this.#lastFailure = error instanceof Error ? error.message : String(error)
    this.#consecutiveFailures++
    if (this.#consecutiveFailures < BREAKER_THRESHOLD || this.#probe) return
    this.#probe = setInterval(() => {
      this.#withDeadline(this.client.ping()).then(
        () => {
          this.#consecutiveFailures = 0
          clearInterval(this.#probe)
          this.#probe = undefined
        },
        (failure: unknown) => {
          this.#lastFailure = failure instanceof Error ? failure.message : String(failure)
        },
      )
    }, this.#probeIntervalMs)
    this.#probe.unref()
  }

  #withDeadline<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Command timed out')), this.timeoutMs)
    })
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
  }
}

/** An error the server sent back for the command itself (ERR, WRONGTYPE, a script's error). */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && !error.message.startsWith('NOSCRIPT')
}

function toStoreError(operation: string, error: unknown): CisternError {
  if (error instanceof CisternError) return error
  const timedOut = error instanceof Error && /timed out/i.test(error.message)
  return new StoreError('redis', operation, error, timedOut ? 'E_STORE_TIMEOUT' : 'E_STORE')
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
