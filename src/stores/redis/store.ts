import type { Entry, EntryInfo } from '../../model/entry.js'
import { CisternError, StoreError } from '../../util/errors.js'
import { parseSize, type Size } from '../../util/units.js'
import type {
  InvalidateOptions,
  ListPage,
  ListQuery,
  Selector,
  SetOptions,
  Store,
  StoreHealth,
  StoreStats,
} from '../store.js'
import { type RedisArg, RedisConnection, type RedisConnectionOptions } from './connection.js'
import { DELETE, GET, INVALIDATE, LIST, SET, STATS, SWEEP } from './store-scripts.js'

/**
 * Entries are spread over this many virtual shards, each in its own Cluster hash slot with its own
 * indexes (store-scripts.ts has the layout). A script touches one shard, so every write is atomic on
 * one node; a tag or prefix invalidation runs once per shard. Part of the key layout: changing it
 * orphans what is stored.
 */
export const SHARDS = 16

/** Members an invalidation script visits per call, so a purge of millions never blocks Redis for long. */
const BATCH = 256
/** Members a listing script may examine per shard and page beyond the page itself (expired ones). */
const LIST_BUDGET = 1000
/** Redis rejects PEXPIREAT beyond this; entries kept longer simply do not expire by TTL. */
const MAX_EXPIRE_AT = 2 ** 52

export interface RedisStoreOptions {
  connection: RedisConnection
  /** Close the connection with the store (when the store made it). */
  ownsConnection?: boolean
  /**
   * Bound on the value bytes kept (default 1GB). Each shard keeps maxSize / SHARDS and evicts its least
   * recently used entries (by the server's clock) on the write that crosses it, never the entry just
   * written: with keys spread evenly over the shards this is a least recently used bound on the whole.
   */
  maxSize?: Size
  /**
   * Period of the background sweep (default 60 s; 0 turns it off). It drops expired entries by the
   * server's clock, in batches of `sweepBatch` per shard; several instances sweeping the same Redis
   * only share the work.
   */
  sweepIntervalMs?: number
  sweepBatch?: number
  /** Told of a background sweep that failed (Redis away): the next tick tries again. */
  onSweepError?: (error: Error) => void
}

/** What a library user hands redisStore(): a URL, or a client of their own (never closed by cistern). */
export type RedisStoreSource =
  | { url: string; timeoutMs?: number }
  | { client: RedisConnectionOptions['client'] }

/** A Redis (or Valkey) store for createCache: `redisStore({ url: 'redis://...' }, 'myapp')`. */
export function redisStore(
  source: RedisStoreSource,
  namespace?: string,
  options: { maxSize?: Size } = {},
): RedisEntryStore {
  const connection = new RedisConnection({ ...source, ...(namespace !== undefined && { namespace }) })
  return new RedisEntryStore({ connection, ownsConnection: true, ...options })
}

export class RedisEntryStore implements Store {
  readonly name = 'redis'
  readonly connection: RedisConnection
  readonly #owns: boolean
  readonly #shardBytes: number
  /** `base` of each shard: every key of the shard starts with it. */
  readonly #bases: string[]
  #closed = false
  #sweeper: NodeJS.Timeout | undefined
  #sweeping = false

  constructor(options: RedisStoreOptions) {
    this.connection = options.connection
    this.#owns = options.ownsConnection ?? false
    this.#shardBytes = Math.floor(parseSize(options.maxSize ?? '1GB', 'redis store maxSize') / SHARDS)
    this.#bases = Array.from({ length: SHARDS }, (_, shard) => shardBase(this.connection, shard))
    const interval = options.sweepIntervalMs ?? 60_000
    if (interval > 0) {
      const batch = options.sweepBatch ?? 500
      this.#sweeper = setInterval(() => void this.#backgroundSweep(batch, options.onSweepError), interval)
      this.#sweeper.unref()
    }
  }

  async get(key: string, now = Date.now()): Promise<Entry | undefined> {
    this.#open()
    const base = this.#baseOf(key)
    const [m, b, f, s, x] = await this.connection.run<(Buffer | null)[]>(
      GET,
      [`${base}e:${key}`],
      [base, key],
      true,
    )
    if (!m || !b || !f || !s || !x) return undefined
    const expiresAt = Number(x.toString())
    if (expiresAt <= now) return undefined
    const info = JSON.parse(m.toString()) as Omit<EntryInfo, 'freshUntil' | 'staleUntil' | 'expiresAt'>
    return {
      ...info,
      value: b,
      freshUntil: Number(f.toString()),
      staleUntil: Number(s.toString()),
      expiresAt,
    }
  }

  async set(entry: Entry, options: SetOptions = {}): Promise<void> {
    this.#open()
    for (const time of [entry.freshUntil, entry.staleUntil, entry.expiresAt]) {
      if (!Number.isFinite(time))
        throw new StoreError('redis', 'set', `entry ${entry.key} has a time of ${time}`)
    }
    const { value, freshUntil, staleUntil, expiresAt, ...info } = entry
    const tags = [...new Set(entry.tags)]
    const base = this.#baseOf(entry.key)
    const expireAt = expiresAt < MAX_EXPIRE_AT ? String(Math.ceil(expiresAt)) : ''
    // The bytes are sent as they are (a Buffer over the caller's memory, copied onto the socket now).
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    const args: RedisArg[] = [
      base,
      entry.key,
      options.fence === undefined ? '' : String(options.fence),
      JSON.stringify(info),
      bytes,
      String(freshUntil),
      String(staleUntil),
      String(expiresAt),
      expireAt,
      JSON.stringify([entry.size, ...tags]),
      String(entry.size),
      String(this.#shardBytes),
      String(tags.length),
      ...tags,
    ]
    await this.connection.run(SET, [`${base}e:${entry.key}`], args)
  }

  async delete(key: string): Promise<boolean> {
    this.#open()
    const base = this.#baseOf(key)
    return (await this.connection.run<number>(DELETE, [`${base}e:${key}`], [base, key])) === 1
  }

  async invalidate(selector: Selector, options: InvalidateOptions): Promise<number> {
    this.#open()
    const soft = options.soft ? '1' : '0'
    const now = String(options.now)
    if ('key' in selector || 'keys' in selector) {
      const keys = 'key' in selector ? [selector.key] : [...new Set(selector.keys)]
      const byShard = new Map<number, string[]>()
      for (const key of keys) {
        const shard = shardOf(key)
        byShard.set(shard, [...(byShard.get(shard) ?? []), key])
      }
      const counts = await Promise.all(
        [...byShard].flatMap(([shard, shardKeys]) =>
          chunks(shardKeys, BATCH).map(async (chunk) => {
            const base = this.#bases[shard]!
            const reply = await this.connection.run<[number]>(
              INVALIDATE,
              [`${base}k`],
              [base, soft, now, '0', 'keys', ...chunk],
            )
            return reply[0]
          }),
        ),
      )
      return counts.reduce((sum, count) => sum + count, 0)
    }
    if ('prefix' in selector) {
      const [start, stop] = prefixRange(selector.prefix)
      const counts = await Promise.all(
        this.#bases.map((base) => this.#invalidateRange(base, 'k', start, stop, soft, now)),
      )
      return counts.reduce((sum, count) => sum + count.count, 0)
    }
    // By tag(s): an entry holding two of the tags is one entry, so count distinct keys.
    const tags = 'tag' in selector ? [selector.tag] : [...new Set(selector.tags)]
    if (tags.length === 1) {
      const counts = await Promise.all(
        this.#bases.map((base) => this.#invalidateRange(base, `t:${tags[0]}`, '-', '+', soft, now)),
      )
      return counts.reduce((sum, count) => sum + count.count, 0)
    }
    const affected = new Set<string>()
    await Promise.all(
      this.#bases.flatMap((base) =>
        tags.map(async (tag) => {
          const { keys } = await this.#invalidateRange(base, `t:${tag}`, '-', '+', soft, now, true)
          for (const key of keys) affected.add(key)
        }),
      ),
    )
    return affected.size
  }

  async list(query: ListQuery): Promise<ListPage> {
    this.#open()
    const limit = Math.max(1, Math.min(Math.floor(query.limit), 1000))
    const index = query.tag === undefined ? 'k' : `t:${query.tag}`
    const [prefixStart, stop] = prefixRange(query.prefix ?? '')
    const start =
      query.cursor !== undefined && compareKeys(query.cursor, query.prefix ?? '') >= 0
        ? Buffer.concat([Buffer.from('('), Buffer.from(query.cursor)])
        : prefixStart
    const now = String(Date.now())
    const replies = await Promise.all(
      this.#bases.map((base) =>
        this.connection.run<(string | number)[]>(
          LIST,
          [`${base}k`],
          [base, index, start, stop, String(limit), now, String(limit + LIST_BUDGET)],
        ),
      ),
    )
    // Each shard answered in key order up to where it looked; past the earliest point where a shard
    // stopped looking, another page is needed to know what comes next.
    let horizon: string | undefined
    const items: EntryInfo[] = []
    for (const reply of replies) {
      const [done, last] = reply as [number, string]
      if (done === 0 && (horizon === undefined || compareKeys(last, horizon) < 0)) horizon = last
      for (let i = 2; i < reply.length; i += 5) {
        const [key, m, f, s, x] = reply.slice(i, i + 5) as string[]
        items.push({
          ...(JSON.parse(m!) as Omit<EntryInfo, 'freshUntil' | 'staleUntil' | 'expiresAt'>),
          key: key!,
          freshUntil: Number(f),
          staleUntil: Number(s),
          expiresAt: Number(x),
        })
      }
    }
    items.sort((a, b) => compareKeys(a.key, b.key))
    const settled =
      horizon === undefined ? items : items.filter((item) => compareKeys(item.key, horizon) <= 0)
    const page = settled.slice(0, limit)
    if (page.length < settled.length) return { items: page, cursor: page[page.length - 1]!.key }
    if (horizon !== undefined) return { items: page, cursor: page[page.length - 1]?.key ?? horizon }
    return { items: page }
  }

  async stats(): Promise<StoreStats> {
    this.#open()
    const replies = await Promise.all(
      this.#bases.map((base) => this.connection.run<[number, number]>(STATS, [`${base}k`, `${base}n`], [])),
    )
    return replies.reduce(
      (sum, [entries, bytes]) => ({ entries: sum.entries + entries, bytes: sum.bytes + bytes }),
      { entries: 0, bytes: 0 },
    )
  }

  health(): StoreHealth {
    const reason = this.connection.unhealthyReason()
    return reason === undefined ? { ok: true } : { ok: false, reason }
  }

  async sweep(now: number, limit: number): Promise<number> {
    this.#open()
    let dropped = 0
    // Shard after shard, so that no more than `limit` go in one call.
    for (const base of this.#bases) {
      if (dropped >= limit) break
      dropped += await this.connection.run<number>(
        SWEEP,
        [`${base}x`],
        [base, String(now), String(limit - dropped)],
      )
    }
    return dropped
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweeper)
    if (this.#owns) await this.connection.close()
  }

  async #invalidateRange(
    base: string,
    index: string,
    start: RedisArg,
    stop: RedisArg,
    soft: string,
    now: string,
    report = false,
  ): Promise<{ count: number; keys: string[] }> {
    let count = 0
    const keys: string[] = []
    let from = start
    // Batch after batch, each its own short script; a hard purge removes what it visited, a soft one
    // moves past it.
    for (;;) {
      const reply = await this.connection.run<(number | string)[]>(
        INVALIDATE,
        [`${base}k`],
        [base, soft, now, report ? '1' : '0', 'range', index, from, stop, String(BATCH)],
      )
      const [batchCount, done, last] = reply as [number, number, string]
      count += batchCount
      if (report) keys.push(...(reply.slice(3) as string[]))
      if (done === 1) return { count, keys }
      from = Buffer.concat([Buffer.from('('), Buffer.from(last)])
    }
  }

  /** Each shard in turn, a batch at a time until it has nothing expired left (at most 20 batches a tick). */
  async #backgroundSweep(batch: number, onError: ((error: Error) => void) | undefined): Promise<void> {
    if (this.#sweeping || this.#closed) return
    this.#sweeping = true
    try {
      for (const base of this.#bases) {
        for (let round = 0; round < 20 && !this.#closed; round++) {
          const dropped = await this.connection.run<number>(SWEEP, [`${base}x`], [base, '', String(batch)])
          if (dropped < batch) break
        }
      }
    } catch (error) {
      onError?.(error as Error)
    } finally {
      this.#sweeping = false
    }
  }

  #baseOf(key: string): string {
    return this.#bases[shardOf(key)]!
  }

  #open(): void {
    if (this.#closed) throw new CisternError('E_CLOSED', 'redis store: used after close()')
  }
}

/**
 * The prefix of every key of `shard` (one Cluster slot). A lease on a cache key (leases.ts) lives in
 * its entry's shard and takes its fence from the shard's counter (`base..'n'`, field `ver`); SET
 * gives an unfenced write half a step above every fence the shard issued or stored and the entry's
 * own version (store-scripts.ts), so fences and versions compare.
 */
export function shardBase(connection: RedisConnection, shard: number): string {
  return connection.key(`entries:${shard}`)
}

/** The virtual shard of a key: FNV-1a over its UTF-16 code units. Part of the key layout. */
export function shardOf(key: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % SHARDS
}

/**
 * ZRANGEBYLEX bounds of every key starting with `prefix`. Redis orders members by their bytes, and
 * UTF-8 never holds the byte 0xFF, so `prefix` followed by 0xFF lies above every key that starts with it.
 */
function prefixRange(prefix: string): [RedisArg, RedisArg] {
  if (prefix === '') return ['-', '+']
  const bytes = Buffer.from(prefix)
  return [
    Buffer.concat([Buffer.from('['), bytes]),
    Buffer.concat([Buffer.from('('), bytes, Buffer.from([0xff])]),
  ]
}

/** Redis's order of members: by UTF-8 bytes (which is code point order). */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
