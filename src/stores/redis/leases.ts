import { randomUUID } from 'node:crypto'
import type { Lease, Leases } from '../coordination.js'
import { type RedisClient, type RedisConnection, RedisScript, whenReady } from './connection.js'
import { shardBase, shardOf } from './store.js'

/** Leases that also close their subscriber connection (the coordination closes them). */
export interface RedisLeases extends Leases {
  close(): Promise<void>
}

/**
 * The Redis key of the lease on cache key `key`. A lease lives in the Cluster slot of its key's entry
 * (the store's shard) and its fence comes from the shard's counter, which the store's unfenced writes
 * also step above (store.ts, shardBase): a fence is then newer than every version stored before the
 * lease was taken, and older than any write made after it, fenced or not. A holder's late write loses
 * to both.
 */
export function leaseKey(connection: RedisConnection, key: string): string {
  return `${shardBase(connection, shardOf(key))}lease:${key}`
}

/**
 * A waiter reads the lease at least this often: Redis freezing while it waits sends no notice, and a
 * read is how it finds out (it then gives up within the connection's deadline instead of sitting out
 * the holder's whole lease).
 */
const RECHECK_MAX_MS = 1000

/** KEYS: lease, the shard's counters. ARGV: token, ttl ms. Returns the fence, or nil when held by another. */
const ACQUIRE = new RedisScript(
  'acquire lease',
  `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('HINCRBY', KEYS[2], 'ver', 1)
end
return false
`,
)

/** KEYS: lease. ARGV: token, ttl ms. 1 while still ours (extended), 0 when lost. */
const RENEW = new RedisScript(
  'renew lease',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`,
)

/** KEYS: lease. ARGV: token, channel, key. Deletes only our own lease, then wakes the waiters. */
const RELEASE = new RedisScript(
  'release lease',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`,
)

/**
 * Single-flight across instances on Redis: `SET NX PX` with a random token, a fence from the shard's
 * counter in the same script (so a holder that froze between taking the lease and its fence cannot come back
 * with a newer fence than the next holder's), renewal every ttl/3 while held, release by
 * compare-and-delete. Release publishes the key on a channel; waiters listen there and re-check the
 * lease. A holder that dies sends no notice: waiters also look again when the lease's remaining time
 * is up, and at least once a second (RECHECK_MAX_MS), never a hot poll.
 */
export function createRedisLeases(connection: RedisConnection, instanceId: string): RedisLeases {
  return new RedisLeaseTable(connection, instanceId)
}

interface Waiter {
  check(): void
}

class RedisLeaseTable implements RedisLeases {
  readonly #connection: RedisConnection
  readonly #instanceId: string
  readonly #channel: string
  readonly #waiters = new Map<string, Set<Waiter>>()
  readonly #held = new Set<RedisLease>()
  #subscriber: Promise<RedisClient | undefined> | undefined
  #closed = false

  constructor(connection: RedisConnection, instanceId: string) {
    this.#connection = connection
    this.#instanceId = instanceId
    this.#channel = connection.key('leases', 'released')
  }

  #leaseKey(key: string): string {
    return leaseKey(this.#connection, key)
  }

  async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const ttl = Math.max(30, Math.round(ttlMs))
    const token = `${this.#instanceId}:${randomUUID()}`
    const fence = await this.#connection.run<number | null>(
      ACQUIRE,
      [this.#leaseKey(key), `${shardBase(this.#connection, shardOf(key))}n`],
      [token, ttl],
    )
    if (fence === null) return undefined
    const lease = new RedisLease(this, key, token, Number(fence), ttl)
    this.#held.add(lease)
    return lease
  }

  waitFor(key: string, timeoutMs: number): Promise<boolean> {
    return this.#listen().then(
      () =>
        new Promise<boolean>((resolve, reject) => {
          let done = false
          let recheck: NodeJS.Timeout | undefined
          const finish = (released: boolean | { failed: unknown }) => {
            if (done) return
            done = true
            clearTimeout(timeout)
            clearTimeout(recheck)
            const waiters = this.#waiters.get(key)
            waiters?.delete(waiter)
            if (waiters?.size === 0) this.#waiters.delete(key)
            if (typeof released === 'boolean') resolve(released)
            else reject(released.failed)
          }
          const timeout = setTimeout(() => finish(false), Math.max(0, timeoutMs))
          const started = performance.now()
          const waiter: Waiter = {
            check: () => {
              if (done) return
              clearTimeout(recheck)
              this.#connection
                .call('lease ttl', (client) => client.pttl(this.#leaseKey(key)))
                .then(
                  (remaining) => {
                    // -2: no lease (released or expired). Otherwise look again when it would expire
                    // (a holder that died sends no notice), or sooner: RECHECK_MAX_MS.
                    if (remaining === -2) finish(true)
                    else schedule(remaining < 0 ? RECHECK_MAX_MS : Math.min(remaining + 5, RECHECK_MAX_MS))
                  },
                  // Redis did not answer (or the breaker is open): nothing tells this waiter the
                  // holder is done, so it would sit out its whole timeout (a lease: seconds) while the
                  // request waits. Give up at once; the caller fetches on its own (engine/fetch/flight.ts).
                  (error: unknown) => finish({ failed: error }),
                )
            },
          }
          const schedule = (ms: number) => {
            if (done) return
            const left = timeoutMs - (performance.now() - started)
            recheck = setTimeout(waiter.check, Math.max(1, Math.min(ms, left)))
          }
          const waiters = this.#waiters.get(key) ?? new Set<Waiter>()
          this.#waiters.set(key, waiters)
          waiters.add(waiter)
          // After listening: a release between this read and the notice cannot slip by.
          waiter.check()
        }),
    )
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const lease of [...this.#held]) await lease.release()
    const subscriber = await this.#subscriber
    subscriber?.disconnect()
  }

  /** Subscribed to release notices (once per process). Without the channel, waiters rely on re-reads. */
  #listen(): Promise<RedisClient | undefined> {
    this.#subscriber ??= (async () => {
      if (this.#closed) return undefined
      const subscriber = this.#connection.duplicate({ name: `cistern-leases-${this.#instanceId}` })
      subscriber.on('message', (_channel: string, key: string) => this.#wake(key))
      const subscribe = () =>
        subscriber.subscribe(this.#channel).catch(() => {
          // Tried again when the connection is next ready; until then waiters re-read at lease expiry.
        })
      // Notices sent while it was (re)connecting are lost: every waiter looks again.
      subscriber.on('ready', () => {
        void subscribe()
        for (const key of this.#waiters.keys()) this.#wake(key)
      })
      if (await whenReady(subscriber, Math.max(1000, this.#connection.timeoutMs))) await subscribe()
      return subscriber
    })()
    return this.#subscriber
  }

  #wake(key: string): void {
    const waiters = this.#waiters.get(key)
    if (waiters) for (const waiter of [...waiters]) waiter.check()
  }

  /** @internal for RedisLease */
  renew(lease: RedisLease): Promise<unknown> {
    return this.#connection.run(RENEW, [this.#leaseKey(lease.key)], [lease.token, lease.ttlMs])
  }

  /** @internal for RedisLease */
  async release(lease: RedisLease): Promise<void> {
    this.#held.delete(lease)
    await this.#connection.run(RELEASE, [this.#leaseKey(lease.key)], [lease.token, this.#channel, lease.key])
  }
}

class RedisLease implements Lease {
  readonly key: string
  readonly fence: number
  readonly token: string
  readonly ttlMs: number
  readonly #table: RedisLeaseTable
  readonly #controller = new AbortController()
  readonly #renewal: NodeJS.Timeout
  #expiry: NodeJS.Timeout | undefined
  /** When the last confirmed renewal (or the acquire) was sent, on the monotonic clock. */
  #confirmedAt: number
  #released: Promise<void> | undefined

  constructor(table: RedisLeaseTable, key: string, token: string, fence: number, ttlMs: number) {
    this.#table = table
    this.key = key
    this.token = token
    this.fence = fence
    this.ttlMs = ttlMs
    // The acquire was sent before now: counting from now would overstate what is left, but only by a
    // round trip, far less than the two thirds of a ttl a renewal has to spare.
    this.#confirmedAt = performance.now()
    this.#renewal = setInterval(() => this.#renew(), Math.max(10, Math.floor(ttlMs / 3)))
    this.#renewal.unref()
    this.#armExpiry()
  }

  /**
   * Aborted once the lease may be lost. Checked against the clock on every read, not only by a timer:
   * a process that was frozen (SIGSTOP) runs its I/O callbacks before its overdue timers on waking.
   */
  get signal(): AbortSignal {
    this.#checkExpiry()
    return this.#controller.signal
  }

  #checkExpiry(): void {
    if (!this.#controller.signal.aborted && performance.now() - this.#confirmedAt >= this.ttlMs) {
      this.#lose('not renewed within its ttl')
    }
  }

  release(): Promise<void> {
    this.#released ??= (async () => {
      this.#stop()
      if (!this.#controller.signal.aborted) this.#controller.abort(new Error('lease released'))
      try {
        await this.#table.release(this)
      } catch {
        // Never throws: a release that fails just lets the lease expire.
      }
    })()
    return this.#released
  }

  #renew(): void {
    if (this.signal.aborted) return
    const sentAt = performance.now()
    this.#table.renew(this).then(
      (extended) => {
        if (this.#controller.signal.aborted) return
        if (extended === 1) {
          this.#confirmedAt = sentAt
          this.#armExpiry()
        } else this.#lose('taken over or expired')
      },
      () => {
        // A failed renewal is tried again next tick; the expiry timer ends it if none succeeds in time.
      },
    )
  }

  #armExpiry(): void {
    clearTimeout(this.#expiry)
    const left = this.ttlMs - (performance.now() - this.#confirmedAt)
    this.#expiry = setTimeout(() => this.#checkExpiry(), Math.max(0, left))
    this.#expiry.unref()
  }

  #lose(reason: string): void {
    this.#stop()
    this.#controller.abort(new Error(`lease on ${this.key} lost: ${reason}`))
  }

  #stop(): void {
    clearInterval(this.#renewal)
    clearTimeout(this.#expiry)
  }
}
