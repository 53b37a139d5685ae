import { realTimers, type Timers } from '../../util/timers.js'
import type { RedisConnection } from './connection.js'
import { RedisScript } from './script.js'

/**
 * Marks this instance alive and counts the live ones, in one step on the server's clock: a sorted set
 * of instance ids scored by the server's `TIME` at their last beat; ids older than `ttlMs` are dropped.
 * Instances' clocks may disagree, so no instance's clock is ever written.
 */
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
`

const beat = new RedisScript('heartbeat', BEAT)

export interface HeartbeatOptions {
  /** How often this instance beats (default 1000 ms). */
  intervalMs?: number
  /** An instance that has not beaten for this long is not counted (default 5000 ms). */
  ttlMs?: number
  timers?: Timers
}

/**
 * The instances on one Redis: `liveInstances()` is the count seen at the last successful beat (at
 * least 1: this one). While Redis is unreachable it keeps the last count seen, which is what a budget
 * divides its rate by to fail closed to a local share.
 */
export class RedisHeartbeat {
  readonly #connection: RedisConnection
  readonly #instanceId: string
  readonly #intervalMs: number
  readonly #ttlMs: number
  readonly #timers: Timers
  readonly #key: string
  #live = 1
  #timer: unknown
  #running = false

  constructor(connection: RedisConnection, instanceId: string, options: HeartbeatOptions = {}) {
    this.#connection = connection
    this.#instanceId = instanceId
    this.#intervalMs = options.intervalMs ?? 1000
    this.#ttlMs = options.ttlMs ?? 5000
    this.#timers = options.timers ?? realTimers
    this.#key = connection.key('instances', 'instances')
  }

  liveInstances(): number {
    return this.#live
  }

  /** Beats once (resolves even when Redis is down: the count stays as last seen), then every interval. */
  async start(): Promise<void> {
    if (this.#running) return
    this.#running = true
    await this.beat()
  }

  /** One beat now; returns the live count seen (the last one when Redis does not answer). */
  async beat(): Promise<number> {
    try {
      const count = Number(
        await beat.run(this.#connection.client, [this.#key], [this.#instanceId, this.#ttlMs]),
      )
      if (count >= 1) this.#live = count
    } catch {
      // Unreachable: keep the last count seen (a local share must not grow because Redis went away).
    }
    this.#schedule()
    return this.#live
  }

  /** Stops beating and leaves the set, so the others' shares grow at once rather than after `ttlMs`. */
  async close(): Promise<void> {
    this.#running = false
    if (this.#timer !== undefined) this.#timers.clear(this.#timer)
    this.#timer = undefined
    await this.#connection.client.zrem(this.#key, this.#instanceId).catch(() => {})
  }

  #schedule(): void {
    if (!this.#running) return
    if (this.#timer !== undefined) this.#timers.clear(this.#timer)
    this.#timer = this.#timers.set(() => {
      this.#timer = undefined
      void this.beat()
    }, this.#intervalMs)
  }
}
