import type { BucketRate, SharedCeiling, TakeResult } from '../coordination.js'
import { type RedisConnection, RedisScript } from './connection.js'

/*
 * One hash per bucket, in the bucket's own Cluster slot: `tat` (the GCRA theoretical arrival time) and
 * the pause (`pu` until, `pr` reason), all in microseconds of the server's `TIME`. The hash expires once
 * both lie in the past, since an absent bucket is a full one. Times never come from an instance.
 */

/** Expire the bucket once `tat` and the pause are both past (an absent bucket reads as full). */
const EXPIRE = `
local function expire(key, now, a, b)
  local last = math.max(a or 0, b or 0)
  redis.call('PEXPIRE', key, math.max(1, math.ceil((last - now) / 1000)) + 1000)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`

/**
 * GCRA, one permit: allowed when `tat − now <= (burst − 1 − reserve) × interval` (reserve only for the
 * background lane), then `tat = max(tat, now) + interval`. Returns {1} or {0, retryInUs, pauseReason}.
 */
const TAKE = `${EXPIRE}
local interval = tonumber(ARGV[1])
local keep = tonumber(ARGV[2]) - 1
if ARGV[4] == 'background' then keep = keep - tonumber(ARGV[3]) end
local state = redis.call('HMGET', KEYS[1], 'tat', 'pu', 'pr')
local pu = tonumber(state[2])
if pu and pu > now then return {0, math.ceil(pu - now), state[3] or 'paused'} end
local tat = math.max(tonumber(state[1]) or now, now)
local allowAt = tat - keep * interval
if allowAt > now then return {0, math.ceil(allowAt - now)} end
tat = tat + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat))
expire(KEYS[1], now, tat, pu)
return {1}
`

/** Pause until now + ARGV[1] ms unless a longer pause is already set (a pause is never shortened). */
const PAUSE = `${EXPIRE}
local pauseUntil = now + tonumber(ARGV[1]) * 1000
local state = redis.call('HMGET', KEYS[1], 'tat', 'pu')
local pu = tonumber(state[2])
if not pu or pauseUntil > pu then
  redis.call('HSET', KEYS[1], 'pu', string.format('%.0f', pauseUntil), 'pr', ARGV[2])
  pu = pauseUntil
end
expire(KEYS[1], now, tonumber(state[1]), pu)
return 1
`

const take = new RedisScript('ceiling take', TAKE)
const pause = new RedisScript('ceiling pause', PAUSE)

/** What the ceiling needs of a heartbeat. */
export interface LiveInstances {
  liveInstances(): number
}

/**
 * The upstream ceiling shared by every instance on one Redis (see SharedCeiling): GCRA in one Lua
 * script per take on the server's clock, per bucket (an upstream, or one key of a key pool), with the
 * background lane kept off the last `reserve` permits, and pauses on the server's clock that are never
 * shortened. Every failure is a StoreError (the budget then fails closed to its local share).
 *
 * `instances` counts the live instances: redisCoordination gives it its heartbeat's count
 * (it wraps liveInstances), so alone this ceiling counts only itself.
 */
export function createRedisCeiling(
  connection: RedisConnection,
  _instanceId: string,
  instances: LiveInstances = { liveInstances: () => 1 },
): SharedCeiling {
  const keyOf = (bucket: string): string => connection.key(`ceiling:${bucket}`, 'ceiling', bucket)
  return {
    async take(bucket: string, rate: BucketRate, lane): Promise<TakeResult> {
      // Whole microseconds, rounded up: a rounding error may only ever mean fewer permits.
      const intervalUs = Math.ceil(rate.intervalMs * 1000)
      const result = await connection.run<[number, number?, (string | null)?]>(
        take,
        [keyOf(bucket)],
        [intervalUs, rate.burst, rate.reserve, lane],
      )
      if (result[0] === 1) return { granted: true }
      const retryInMs = Math.max(1, Math.ceil(Number(result[1]) / 1000))
      return result[2] !== undefined && result[2] !== null
        ? { granted: false, retryInMs, pausedFor: String(result[2]) }
        : { granted: false, retryInMs }
    },
    async pause(bucket: string, forMs: number, reason: string): Promise<void> {
      if (!(forMs > 0)) return
      await connection.run(pause, [keyOf(bucket)], [Math.ceil(forMs), reason])
    },
    liveInstances: () => Math.max(1, instances.liveInstances()),
  }
}
