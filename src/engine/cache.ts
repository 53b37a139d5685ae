import { type Entry, type EntryInfo, entryInfo } from '../model/entry.js'
import { isFresh, isServableOnError, isServableStale } from '../model/freshness.js'
import type { Coordination } from '../stores/coordination.js'
import type { ListPage, ListQuery, Selector, Store, StoreStats } from '../stores/store.js'
import { withDeadline } from '../util/deadline.js'
import { CisternError } from '../util/errors.js'
import type { Codec } from './codec.js'
import { publish } from './events.js'
import { freshEntry } from './fetch/build-entry.js'
import type { Factory } from './fetch/context.js'
import { Flights } from './fetch/flight.js'
import { GuardedStore, type GuardedStoreHealth } from './guarded-store.js'
import { loadFromStore } from './load-from-store.js'
import type { MemoryRecord, MemoryTier } from './memory-tier.js'
import {
  type Defaults,
  type EntryOptions,
  type GetOrSetOptions,
  type ResolvedOptions,
  resolveEntryOptions,
  resolveOptions,
} from './options.js'
import { type CacheResult, checkKey, result } from './result.js'

/**
 * What the engine uses of a coordination (stores/coordination.ts) when several instances share one
 * store: the invalidation bus keeps their memory tiers in agreement, the leases make one fetch per key.
 */
export type CacheCoordination = Pick<Coordination, 'invalidations' | 'leases' | 'healthy'>

export interface CacheInternals<T> {
  store: Store | undefined
  coordination?: CacheCoordination | undefined
  /** The lease time of a fetch under a coordination (renewed while the fetch runs). */
  leaseTtlMs: number
  memory: MemoryTier<T>
  codec: Codec<T>
  defaults: Defaults
  now: () => number
  storeTimeoutMs: number
  maxKeyLength: number
}

export class Cache<T = unknown> {
  readonly #store: GuardedStore | undefined
  readonly #rawStore: Store | undefined
  readonly #memory: MemoryTier<T>
  readonly #codec: Codec<T>
  readonly #defaults: Defaults
  readonly #now: () => number
  readonly #maxKeyLength: number
  readonly #flights: Flights<T>
  readonly #coordination: CacheCoordination | undefined
  readonly #unsubscribe: (() => void) | undefined
  #closed = false

  constructor(internals: CacheInternals<T>) {
    this.#rawStore = internals.store
    this.#store = internals.store && new GuardedStore(internals.store, internals.storeTimeoutMs)
    this.#memory = internals.memory
    this.#codec = internals.codec
    this.#defaults = internals.defaults
    this.#now = internals.now
    this.#maxKeyLength = internals.maxKeyLength
    this.#flights = new Flights<T>({
      codec: this.#codec,
      memory: this.#memory,
      defaults: this.#defaults,
      now: this.#now,
      persist: (entry, fence) => this.#persist(entry, fence),
      ...(internals.coordination && { coordination: internals.coordination }),
      leaseTtlMs: internals.leaseTtlMs,
      loadStored: async (key, now) => this.#load(key, now),
    })
    this.#coordination = internals.coordination
    // Other instances' writes and invalidations, applied to this memory tier. The store needs nothing:
    // it is the one they share.
    this.#unsubscribe = internals.coordination?.invalidations.subscribe({
      invalidate: ({ selector, soft }, at) => {
        // `at` is the server's clock; this instance's may run behind it, and a soft purge must take
        // effect here at once all the same.
        this.#memory.invalidate(selector, soft, Math.min(at, this.#now()))
      },
      gap: () => this.#memory.clear(),
    })
  }

  /**
   * The value for `key`: from memory or the store when fresh; stale at once (refreshing in the
   * background, once) inside the stale window; otherwise from the factory, one call per key however
   * many callers wait. A failing factory falls back to a kept copy ('error-stale') or throws.
   */
  getOrSet(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<CacheResult<T>> {
    if (this.#closed) return Promise.reject(closedError())
    const now = this.#now()
    // The hot path: a fresh memory hit resolves without parsing options or touching the store.
    const memoryRecord = this.#memory.get(key)
    if (memoryRecord !== undefined && now < memoryRecord.entry.freshUntil && options?.forceRefresh !== true) {
      publish('hit', () => ({ key, tier: 'memory' }))
      return Promise.resolve(result(memoryRecord, 'hit', now))
    }
    return this.#beyondMemory(key, factory, options, memoryRecord, now)
  }

  /**
   * Everything but a fresh memory hit. Kept out of getOrSet so that stays small: V8 then optimizes
   * the memory hit on its own, and a store read does not deoptimize it (measured: a SQLite hit after
   * a run of memory hits took 13 us instead of 8 when both lived in one function).
   */
  #beyondMemory(
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    memoryRecord: MemoryRecord<T> | undefined,
    now: number,
  ): Promise<CacheResult<T>> {
    try {
      checkKey(key, this.#maxKeyLength)
      const resolved = resolveOptions(options, this.#defaults)
      if (memoryRecord) return this.#serve(key, factory, resolved, memoryRecord, now, 'memory')
      const loaded = this.#load(key, now)
      if (loaded instanceof Promise) {
        return loaded.then((record) => this.#serve(key, factory, resolved, record, now, 'store'))
      }
      return this.#serve(key, factory, resolved, loaded, now, 'store')
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Answers from what a tier holds when it is fresh or servable stale; otherwise fetches. */
  #serve(
    key: string,
    factory: Factory<T>,
    options: ResolvedOptions,
    record: MemoryRecord<T> | undefined,
    now: number,
    tier: 'memory' | 'store',
  ): Promise<CacheResult<T>> {
    if (record && !options.forceRefresh) {
      if (isFresh(record.entry, now)) {
        if (tier === 'store') publish('hit', () => ({ key, tier }))
        return Promise.resolve(result(record, 'hit', now))
      }
      if (isServableStale(record.entry, now)) {
        publish('stale', () => ({ key, reason: 'stale' }))
        this.#refreshInBackground(key, factory, options, record)
        return Promise.resolve(result(record, 'stale', now))
      }
    }
    return this.#fetch(key, factory, options, record, now)
  }

  async #fetch(
    key: string,
    factory: Factory<T>,
    options: ResolvedOptions,
    record: MemoryRecord<T> | undefined,
    now: number,
  ): Promise<CacheResult<T>> {
    // Any copy we still hold can make the request conditional; only one inside its windows may stand
    // in for a failing source.
    const fallback = record && isServableOnError(record.entry, now) ? record : undefined
    const { promise, joined } = this.#flights.run(key, factory, options, record, 'foreground')
    try {
      // A soft timeout: past it the caller gets the kept copy, and the flight goes on to fill the cache.
      const outcome = await withDeadline(promise, fallback ? options.timeout : undefined, () => undefined)
      if (outcome === undefined && fallback) {
        publish('stale', () => ({ key, reason: 'timeout' }))
        return result(fallback, 'stale', this.#now(), joined)
      }
      return result(outcome!.record, outcome!.status, this.#now(), joined || outcome!.joined === true, {
        stored: outcome!.stored,
      })
    } catch (error) {
      const at = this.#now()
      if (fallback && isServableOnError(fallback.entry, at))
        return result(fallback, 'error-stale', at, joined, { error })
      throw error
    }
  }

  #refreshInBackground(
    key: string,
    factory: Factory<T>,
    options: ResolvedOptions,
    record: MemoryRecord<T>,
  ): void {
    if (this.#flights.get(key)) return
    this.#flights.run(key, factory, options, record, 'background').promise.catch((error: unknown) => {
      publish('error', () => ({ key, error, phase: 'background' }))
    })
  }

  /**
   * Ask the source again now, in the background lane, whatever the entry's freshness: for schedulers
   * and webhooks that keep data warm. Joins a fetch already under way for the key. A stored copy makes
   * the call conditional; a failure rejects (the copy stays as it was).
   */
  async refresh(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<CacheResult<T>> {
    this.#checkOpen()
    checkKey(key, this.#maxKeyLength)
    const now = this.#now()
    const record = this.#memory.get(key) ?? (await this.#load(key, now))
    const resolved = resolveOptions(options, this.#defaults)
    const { promise, joined } = this.#flights.run(key, factory, resolved, record, 'background')
    const outcome = await promise
    return result(outcome.record, outcome.status, this.#now(), joined || outcome.joined === true, {
      stored: outcome.stored,
    })
  }

  /** The value when fresh or servable stale, else undefined. Never calls a factory. */
  async get(key: string): Promise<T | undefined> {
    return (await this.peek(key))?.value
  }

  /** Like get(), with the freshness metadata. Status is 'hit' or 'stale'. */
  async peek(key: string): Promise<CacheResult<T> | undefined> {
    this.#checkOpen()
    checkKey(key, this.#maxKeyLength)
    const now = this.#now()
    const record = this.#memory.get(key) ?? (await this.#load(key, now))
    if (!record) return undefined
    if (isFresh(record.entry, now)) return result(record, 'hit', now)
    if (isServableStale(record.entry, now)) return result(record, 'stale', now)
    return undefined
  }

  /** The fresh memory-tier record, synchronously, or undefined: for callers that serve hits inline. */
  peekMemory(key: string): MemoryRecord<T> | undefined {
    return this.#memory.get(key)
  }

  /** Store a value the caller already has, as confirmed by the source now. */
  async set(
    key: string,
    value: T,
    options?: EntryOptions & { etag?: string; lastModified?: string },
  ): Promise<void> {
    this.#checkOpen()
    checkKey(key, this.#maxKeyLength)
    const resolved = resolveEntryOptions(options, this.#defaults)
    const entry = freshEntry(key, value, this.#codec, resolved, options, this.#now())
    this.#memory.put(entry, value)
    await this.#persist(entry)
  }

  async delete(key: string): Promise<boolean> {
    this.#checkOpen()
    this.#memory.delete(key)
    const existed = this.#store ? await this.#store.delete(key) : true
    await this.#announce({ key }, false)
    return existed
  }

  /**
   * Invalidate by key, keys, tag, tags or prefix. Hard deletes; soft marks stale but keeps the copy
   * for stale serving while the next read refreshes it. Resolves to how many entries were affected.
   */
  async invalidate(selector: Selector, options: { soft?: boolean } = {}): Promise<number> {
    this.#checkOpen()
    const soft = options.soft ?? false
    const now = this.#now()
    const inMemory = this.#memory.invalidate(selector, soft, now)
    const affected = this.#store ? await this.#store.invalidate(selector, soft, now, inMemory) : inMemory
    await this.#announce(selector, soft)
    return affected
  }

  /** `fn` with its results cached under `key(...args)`. */
  wrap<A extends unknown[], R extends T>(
    fn: (...args: A) => R | Promise<R>,
    options: GetOrSetOptions & { key: (...args: A) => string },
  ): (...args: A) => Promise<R> {
    const { key, ...rest } = options
    return async (...args: A) => (await this.getOrSet(key(...args), () => fn(...args), rest)).value as R
  }

  memoryStats(): { entries: number; bytes: number; maxBytes: number; inflight: number } {
    const memory = this.#memory
    return {
      entries: memory.size,
      bytes: memory.bytes,
      maxBytes: memory.maxBytes,
      inflight: this.#flights.size,
    }
  }

  /** Whether a store sits behind the memory tier: without one, listings are empty and there are no store counters. */
  get hasStore(): boolean {
    return this.#store !== undefined
  }

  /**
   * A page of the store's entry metadata (values are never loaded), ordered by key. Each page has
   * LIST_TIMEOUT_FACTOR store timeouts to answer; a failed or late page rejects with a StoreError.
   * Without a store: an empty page.
   */
  async list(query: ListQuery): Promise<ListPage> {
    this.#checkOpen()
    return this.#store ? this.#store.list(query) : { items: [] }
  }

  /** The store's counters within the store timeout (a failure rejects with a StoreError); undefined without a store. */
  async storeStats(): Promise<StoreStats | undefined> {
    this.#checkOpen()
    return this.#store?.stats()
  }

  /**
   * One entry's metadata, whatever its freshness: as the store holds it (read within the store
   * timeout; a failing store reads as missing), else as the memory tier holds it. Never calls a
   * factory and never loads the entry into memory.
   */
  async inspect(key: string): Promise<EntryInfo | undefined> {
    this.#checkOpen()
    const stored = this.#store && (await this.#store.get(key, this.#now()))
    if (stored) return entryInfo(stored)
    const memory = this.#memory.get(key)
    return memory && entryInfo(memory.entry)
  }

  /** The store's health as the engine sees it (recent failed calls included); undefined without a store. */
  storeHealth(): GuardedStoreHealth | undefined {
    return this.#store?.health()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#unsubscribe?.()
    this.#memory.clear()
    await this.#rawStore?.close()
  }

  #load(key: string, now: number): MemoryRecord<T> | undefined | Promise<MemoryRecord<T> | undefined> {
    return this.#store && loadFromStore(this.#store, this.#codec, this.#memory, key, now)
  }

  /** Write to the store, then tell the other instances their copy is outdated (after: they re-read it). */
  async #persist(entry: Entry, fence?: number): Promise<void> {
    const store = this.#store
    if (!store) return
    await store.set(entry, fence === undefined ? undefined : { fence })
    await this.#announce({ key: entry.key }, false)
  }

  /**
   * Publish an invalidation to the other instances. A failure is reported (an error event), never
   * thrown: the store holds the truth, and a reader that missed the message finds a gap. With the
   * coordination unhealthy it is not even tried: that would wait out a deadline on every write.
   */
  async #announce(selector: Selector, soft: boolean): Promise<void> {
    const coordination = this.#coordination
    if (!coordination) return
    const key = 'key' in selector ? selector.key : JSON.stringify(selector)
    if (!coordination.healthy()) {
      const error = new CisternError('E_STORE', 'invalidation not published: the coordination is unhealthy')
      publish('error', () => ({ key, error, phase: 'store' }))
      return
    }
    try {
      await coordination.invalidations.publish({ selector, soft })
    } catch (error) {
      publish('error', () => ({ key, error, phase: 'store' }))
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError()
  }
}

function closedError(): CisternError {
  return new CisternError('E_CLOSED', 'cache used after close()')
}
