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
  #everReady = false
  /** Holders that close() this connection (the store, the coordination): the last one really closes it. */
  #holders = 1
  readonly #firstReady: Promise<void>

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
      this.client = clientFor(options.url, clientOptions(this.timeoutMs))
      this.#owned = true
    }
    // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
    this.client.on('error', () => {})
    this.#firstReady =
      this.client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.client.once('ready', () => resolve()))
    this.#firstReady.then(() => (this.#everReady = true))
  }

  /**
   * Resolves once the first connection is up, or after `timeoutMs` (default: the command deadline)
   * whether it is or not: a caller that must not start without Redis checks healthy() after it.
   */
  async ready(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.#everReady) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#firstReady, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
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
      const send = (command: string, first: string): Promise<T> => {
        const argv: RedisArg[] = [first, keys.length, ...keys, ...args]
        return (buffers ? client.callBuffer(command, argv) : client.call(command, argv)) as Promise<T>
      }
      try {
        return await send('evalsha', script.sha)
      } catch (error) {
        // A restarted (or flushed) server has forgotten its scripts: send the text once more.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        return await send('eval', script.lua)
      }
    })
  }

  /** Any other command(s), under the same deadline, breaker and error mapping as run(). */
  async call<T>(operation: string, command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new CisternError('E_CLOSED', `redis: ${operation} after close()`)
    // Nothing queues while disconnected, but the first connection of a fresh process is worth waiting
    // for (within the deadline): the first requests after start would fail for nothing otherwise.
    if (!this.#everReady) await this.ready()
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

  /** One more holder: the connection closes when every holder has called close(). */
  share(): this {
    this.#holders++
    return this
  }

  async close(): Promise<void> {
    if (this.#closed) return
    if (--this.#holders > 0) return
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

/**
 * A client for `url`: redis:// and rediss:// as ioredis reads them (`/db` picks the database),
 * `redis-sentinel://[user:password@]host:26379,host2:26379/master-name[/db]` through the sentinels,
 * `redis-cluster://[user:password@]host:6379,host2:6379` as a Cluster (the nodes only seed it).
 */
export function clientFor(url: string, options: ReturnType<typeof clientOptions>): RedisClient {
  const match =
    /^(redis-sentinel|redis-cluster):\/\/(?:([^@/]*)@)?([^/]+)(?:\/([^/]*))?(?:\/(\d+))?\/?$/.exec(url)
  if (!match) return new Redis(url, options)
  const [, scheme, auth, hostList, name, db] = match
  const [username, password] = auth ? auth.split(':').map(decodeURIComponent) : []
  const nodes = hostList!.split(',').map((hostPort) => {
    const at = hostPort.lastIndexOf(':')
    const port = at === -1 ? undefined : Number(hostPort.slice(at + 1))
    return {
      host: at === -1 ? hostPort : hostPort.slice(0, at),
      port: port ?? (scheme === 'redis-sentinel' ? 26379 : 6379),
    }
  })
  const credentials = { ...(username && { username }), ...(password && { password }) }
  if (scheme === 'redis-cluster') {
    return new Cluster(nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: options.retryStrategy,
      redisOptions: { ...options, ...credentials },
    })
  }
  if (!name)
    throw new StoreError(
      'redis',
      'open',
      'a redis-sentinel:// URL names the master: redis-sentinel://host:26379/mymaster',
    )
  return new Redis({ ...options, ...credentials, sentinels: nodes, name, ...(db && { db: Number(db) }) })
}

/** A short stable tag for a Cluster hash slot (braces and all other characters hashed away). */
export function slotTag(text: string): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, 8)
}
