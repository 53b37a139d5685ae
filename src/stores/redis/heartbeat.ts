import { type RedisConnection, RedisScript } from './connection.js'

/** How often an instance says it is alive, and how long it counts as alive after its last beat. */
export const HEARTBEAT_INTERVAL_MS = 1000
export const HEARTBEAT_LIVENESS_MS = 5000

/**
 * KEYS[1] the instances sorted set. ARGV: instance id, liveness ms. Scores the instance by the server's
 * TIME (never an instance's clock), drops the silent ones, replies how many are alive.
 */
const BEAT = new RedisScript(
  'heartbeat',
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`,
)

/**
 * The instances sharing one Redis: each beats every second into one sorted set scored by the server's
 * TIME; the live ones are those heard within the last HEARTBEAT_LIVENESS_MS. What the budget divides
 * the ceiling by when Redis is unreachable (the count seen last), and what the admin API shows.
 */
export class RedisHeartbeat {
  readonly #connection: RedisConnection
  readonly #instanceId: string
  readonly #key: string
  #live = 1
  #timer: NodeJS.Timeout | undefined

  constructor(connection: RedisConnection, instanceId: string) {
    this.#connection = connection
    this.#instanceId = instanceId
    this.#key = connection.key('instances', 'instances')
  }

  /** Instances heard from recently, this one included (at least 1); the last count seen while Redis is away. */
  liveInstances(): number {
    return this.#live
  }

  /** Beats once (so liveInstances is right from the start when Redis answers), then every second. */
  async start(): Promise<void> {
    if (this.#timer) return
    await this.beat()
    this.#timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS)
    this.#timer.unref()
  }

  /**
   * One beat. A failed one changes nothing (the last count stands): the connection's breaker records
   * the failure, and the beat every second is also what notices that Redis is back.
   */
  async beat(): Promise<void> {
    try {
      const live = await this.#connection.run<number>(
        BEAT,
        [this.#key],
        [this.#instanceId, HEARTBEAT_LIVENESS_MS],
      )
      this.#live = Math.max(1, live)
    } catch {
      // Kept: the last count seen.
    }
  }

  /** Stops beating and leaves the set, so the others' share grows at once rather than after the liveness window. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#connection
      .call('heartbeat', (client) => client.zrem(this.#key, this.#instanceId))
      .catch(() => {})
  }
}
