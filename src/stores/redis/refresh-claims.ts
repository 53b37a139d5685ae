import { createHash, randomBytes } from 'node:crypto'
import type { Busy, RefreshClaim, RefreshClaims, SharedSeen } from '../coordination.js'
import { type RedisConnection, RedisScript } from './connection.js'

/**
 * Bodies above this are not shared for diffs (the change is still seen by digest, without a patch):
 * every instance's refresh reads the record, so it stays small next to the entries themselves.
 */
export const MAX_SHARED_SEEN_BODY = 1024 * 1024

/** What was seen is kept this long past the key's next due time, at least a day: a key dropped from every schedule is forgotten. */
const SEEN_KEEP_MIN_MS = 24 * 3600_000
const SEEN_KEEP_PERIODS = 10

/**
 * Take the claim unless another holder has it. A 'done' marker gives way to a forced claim (a refresh
 * asked for now, by a webhook or an operator, must not wait for the next due time); a 'running' one
 * never does. Replies [value now held, its PTTL].
 */
const CLAIM = new RedisScript(
  'refresh-claim',
  `local current = redis.call('GET', KEYS[1])
if current and not (ARGV[3] == '1' and string.sub(current, 1, 5) == 'done:') then
  return {current, redis.call('PTTL', KEYS[1])}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {ARGV[1], tonumber(ARGV[2])}`,
)

/** Extend the lease while this holder still has it; 0 when it was lost (expired, taken over). */
const RENEW = new RedisScript(
  'refresh-renew',
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
)

/**
 * Done, if this holder still has the claim: the claim becomes a 'done' marker until the key is next
 * due (deleted when it has no next due time) and what was seen is recorded, in one step, so another
 * instance never sees the marker without the record or the record without the marker.
 */
const DONE = new RedisScript(
  'refresh-done',
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
else
  redis.call('DEL', KEYS[1])
end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'digest', ARGV[5], 'fetchedAt', ARGV[6], 'headers', ARGV[7])
  if ARGV[8] == '1' then redis.call('HSET', KEYS[2], 'body', ARGV[9]) end
  redis.call('PEXPIRE', KEYS[2], ARGV[10])
end
return 1`,
)

/** Give the claim back, if this holder still has it. */
const RELEASE = new RedisScript(
  'refresh-release',
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`,
)

/**
 * Refresh claims on Redis. Per cache key, in one slot: a claim key holding
 * `running:<instance>:<token>` (a lease, renewed every third of it while the refresh runs) or
 * `done:<instance>` (until the key is next due), and a hash of what the last refresh saw (digest,
 * fetchedAt, headers, body up to MAX_SHARED_SEEN_BODY). Every change of state is one Lua script on
 * that slot, and every time is a Redis TTL, so instances' clocks never enter into it.
 */
export function createRedisRefreshClaims(connection: RedisConnection, instanceId: string): RefreshClaims {
  const keysOf = (key: string) => {
    // The cache key goes into the layout as a digest: keys are long and client-shaped.
    const digest = createHash('sha256').update(key).digest('base64url')
    return {
      claim: connection.key(key, 'refresh', digest, 'claim'),
      seen: connection.key(key, 'refresh', digest, 'seen'),
    }
  }

  return {
    async claim(key, leaseMs, options = {}): Promise<RefreshClaim | Busy> {
      const keys = keysOf(key)
      const lease = Math.max(1, Math.ceil(leaseMs))
      const value = `running:${instanceId}:${randomBytes(12).toString('base64url')}`
      const [held, pttl] = await connection.run<[string, number]>(
        CLAIM,
        [keys.claim],
        [value, lease, options.force ? '1' : '0'],
      )
      if (held !== value) {
        return {
          claimed: false,
          state: held.startsWith('done:') ? 'done' : 'running',
          // PTTL 0: under a millisecond left; -1 (no expiry) cannot happen, but must not mean "now".
          retryInMs: pttl >= 0 ? Math.max(1, pttl) : lease,
        }
      }
      return new Claim(connection, keys, value, `done:${instanceId}`, lease)
    },

    async seen(key) {
      const { seen } = keysOf(key)
      const hash = await connection.call('refresh-seen', (client) => client.hgetallBuffer(seen))
      const digest = hash.digest?.toString()
      const fetchedAt = Number(hash.fetchedAt?.toString())
      if (!digest || !Number.isFinite(fetchedAt)) return undefined
      let headers: Record<string, string> = {}
      try {
        headers = JSON.parse(hash.headers?.toString() ?? '{}') as Record<string, string>
      } catch {}
      return { digest, fetchedAt, headers, body: hash.body ?? null }
    },
  }
}

/** A claim this instance holds: renewed until done() or release(); its signal aborts when it is lost. */
class Claim implements RefreshClaim {
  readonly claimed = true
  readonly #controller = new AbortController()
  readonly #connection: RedisConnection
  readonly #keys: { claim: string; seen: string }
  readonly #value: string
  readonly #doneValue: string
  readonly #leaseMs: number
  #timer: NodeJS.Timeout | undefined
  #lastRenewed = performance.now()
  #ended = false

  constructor(
    connection: RedisConnection,
    keys: { claim: string; seen: string },
    value: string,
    doneValue: string,
    leaseMs: number,
  ) {
    this.#connection = connection
    this.#keys = keys
    this.#value = value
    this.#doneValue = doneValue
    this.#leaseMs = leaseMs
    this.#schedule()
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  async done(nextInMs: number, seen?: SharedSeen): Promise<void> {
    if (!this.#end()) return
    const next = Math.max(0, Math.ceil(nextInMs))
    const body = seen?.body && seen.body.byteLength <= MAX_SHARED_SEEN_BODY ? seen.body : undefined
    const keep = Math.max(SEEN_KEEP_MIN_MS, SEEN_KEEP_PERIODS * next)
    const args = seen
      ? ['1', seen.digest, seen.fetchedAt, JSON.stringify(seen.headers), body ? '1' : '0', body ?? '', keep]
      : ['0', '', 0, '{}', '0', '', keep]
    try {
      const held = await this.#connection.run<number>(
        DONE,
        [this.#keys.claim, this.#keys.seen],
        [this.#value, next, this.#doneValue, ...args],
      )
      // Someone else holds the key now: what this refresh saw is theirs to record.
      if (held !== 1) this.#controller.abort(new Error('refresh claim lost before it was done'))
    } catch (error) {
      this.#controller.abort(error)
      throw error
    }
  }

  async release(): Promise<void> {
    if (!this.#end()) return
    // A failed release just expires with the lease.
    await this.#connection.run(RELEASE, [this.#keys.claim], [this.#value]).catch(() => undefined)
  }

  /** Stop renewing; false when the claim was already ended or lost. */
  #end(): boolean {
    clearTimeout(this.#timer)
    if (this.#ended) return false
    this.#ended = true
    return !this.#controller.signal.aborted
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.#renew(), Math.max(1, Math.floor(this.#leaseMs / 3)))
    // A refresh in flight keeps the process alive; its lease alone must not.
    this.#timer.unref()
  }

  async #renew(): Promise<void> {
    if (this.#ended) return
    let held: number | undefined
    try {
      held = await this.#connection.run<number>(RENEW, [this.#keys.claim], [this.#value, this.#leaseMs])
      if (held === 1) this.#lastRenewed = performance.now()
    } catch {
      // Unanswered: the lease may still be ours until it runs out, measured from the last renewal.
    }
    if (this.#ended) return
    if (held === 0) this.#controller.abort(new Error('refresh claim lost (expired or taken over)'))
    else if (held === undefined && performance.now() - this.#lastRenewed >= this.#leaseMs)
      this.#controller.abort(new Error('refresh claim could not be renewed within its lease'))
    else this.#schedule()
  }
}
