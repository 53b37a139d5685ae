import type { Entry } from '../../model/entry.js'
import type { Coordination, Lease } from '../../stores/coordination.js'
import { withDeadline } from '../../util/deadline.js'
import { CisternError, FactoryError, TimeoutError } from '../../util/errors.js'
import type { Codec } from '../codec.js'
import { publish } from '../events.js'
import type { MemoryRecord, MemoryTier } from '../memory-tier.js'
import type { Defaults, ResolvedOptions } from '../options.js'
import { resolveEntryOptions } from '../options.js'
import { freshEntry, mergeResultOptions, revalidatedEntry } from './build-entry.js'
import { Context, type Factory, NOT_MODIFIED } from './context.js'

export interface FlightOutcome<T> {
  record: MemoryRecord<T>
  status: 'miss' | 'revalidated'
  stored: boolean
  /** The value came from another instance's fetch (read from the store once its lease was released). */
  joined?: boolean
}

/** What single-flight across instances needs of the coordination (see stores/coordination.ts). */
export type FlightCoordination = Pick<Coordination, 'leases' | 'healthy'>

export interface FlightDeps<T> {
  codec: Codec<T>
  memory: MemoryTier<T>
  defaults: Defaults
  now: () => number
  /** Persist to the store (under a lease: with its fence); failures are reported there and never fail the caller. */
  persist: (entry: Entry, fence?: number) => Promise<void>
  /** With several instances on one store: one fetch per key across all of them. */
  coordination?: FlightCoordination
  /** How long a lease lasts unless renewed: how long a dead holder can keep the others waiting. */
  leaseTtlMs: number
  /** The store's copy of `key`, read past the memory tier (kept there when fresh); undefined without a store. */
  loadStored: (key: string, now: number) => Promise<MemoryRecord<T> | undefined>
}

/** A factory call with the lease it runs under, when it has one. */
type Fetch<T> = (lease: Lease | undefined, budgetMs: number | undefined) => Promise<FlightOutcome<T>>

/**
 * Single-flight: at most one factory call per key in this process, and with a coordination at most one
 * across the instances sharing the store. Every caller of a key that is already being fetched awaits
 * the same promise; the entry is written to both tiers before it settles.
 */
export class Flights<T> {
  readonly #inflight = new Map<string, Promise<FlightOutcome<T>>>()
  readonly #deps: FlightDeps<T>

  constructor(deps: FlightDeps<T>) {
    this.#deps = deps
  }

  get(key: string): Promise<FlightOutcome<T>> | undefined {
    return this.#inflight.get(key)
  }

  get size(): number {
    return this.#inflight.size
  }

  /** Join the flight for `key`, or start one. `joined` tells whether another caller started it. */
  run(
    key: string,
    factory: Factory<T>,
    options: ResolvedOptions,
    previous: MemoryRecord<T> | undefined,
    lane: 'foreground' | 'background',
  ): { promise: Promise<FlightOutcome<T>>; joined: boolean } {
    const existing = this.#inflight.get(key)
    if (existing) return { promise: existing, joined: true }
    const fetch: Fetch<T> = (lease, budgetMs) =>
      this.#fly(key, factory, options, previous, lane, lease, budgetMs)
    const coordination = this.#deps.coordination
    const promise = (
      coordination
        ? this.#shared(key, options, previous, coordination, fetch)
        : fetch(undefined, options.hardTimeout)
    ).finally(() => {
      this.#inflight.delete(key)
    })
    this.#inflight.set(key, promise)
    return { promise, joined: false }
  }

  /**
   * One fetch across the instances: the one that takes the key's lease calls the factory; the others
   * wait for it to release the lease and read what it stored. Released with nothing stored (the holder
   * failed, did not store, or died), they race for the lease again, so a dead holder costs at most one
   * more factory call. Waiting is bounded by the hard timeout when there is one, and by the lease
   * itself: a holder that dies or freezes loses it after leaseTtlMs. Whenever the coordination is
   * unhealthy or fails, this process fetches on its own at once: never wait on a server that is down.
   */
  async #shared(
    key: string,
    options: ResolvedOptions,
    previous: MemoryRecord<T> | undefined,
    coordination: FlightCoordination,
    fetch: Fetch<T>,
  ): Promise<FlightOutcome<T>> {
    const { leaseTtlMs, loadStored, now } = this.#deps
    const started = performance.now()
    const budget = () =>
      options.hardTimeout === undefined ? undefined : options.hardTimeout - (performance.now() - started)
    // What the tiers held when this flight started: the other instance's fetch must bring another entry.
    const baseline = previous?.entry.fetchedAt
    for (;;) {
      if (!coordination.healthy()) return fetch(undefined, budget())
      let lease: Lease | undefined
      try {
        lease = await coordination.leases.acquire(key, leaseTtlMs)
      } catch {
        return fetch(undefined, budget())
      }
      if (lease) {
        try {
          // A cold miss may take a lease another instance has just released after storing the value
          // (this instance read the store before that write): read it once more before calling.
          if (baseline === undefined) {
            const stored = await loadStored(key, now()).catch(() => undefined)
            if (stored) return { record: stored, status: 'miss', stored: true, joined: true }
          }
          return await fetch(lease, budget())
        } finally {
          void lease.release()
        }
      }
      const left = budget()
      if (left !== undefined && left <= 0) throw new TimeoutError(key, options.hardTimeout!)
      try {
        await coordination.leases.waitFor(key, Math.min(left ?? leaseTtlMs, leaseTtlMs))
      } catch {
        return fetch(undefined, budget())
      }
      // Any entry other than the one this flight started from is the holder's (instances' clocks may
      // disagree, so "other" rather than "later"; the store never returns an expired entry).
      const stored = await loadStored(key, now())
      if (stored && stored.entry.fetchedAt !== baseline) {
        return { record: stored, status: 'miss', stored: true, joined: true }
      }
    }
  }

  async #fly(
    key: string,
    factory: Factory<T>,
    options: ResolvedOptions,
    previous: MemoryRecord<T> | undefined,
    lane: 'foreground' | 'background',
    lease: Lease | undefined,
    budgetMs: number | undefined,
  ): Promise<FlightOutcome<T>> {
    const { codec, memory, defaults, now, persist } = this.#deps
    const started = now()
    const controller = new AbortController()
    const context = new Context<T>(
      key,
      previous && { value: previous.value, entry: previous.entry },
      controller.signal,
      lane,
    )
    if (lane === 'foreground') publish('miss', () => ({ key }))
    let value: T
    try {
      value = await withHardTimeout(key, () => factory(context), budgetMs, options.hardTimeout, controller)
    } catch (error) {
      publish('fetch', () => ({ key, durationMs: now() - started, outcome: 'error', lane }))
      publish('error', () => ({ key, error, phase: 'factory' }))
      throw error instanceof CisternError ? error : new FactoryError(key, error)
    }
    const at = now()
    const resolved = mergeResultOptions(options, context.overrides, (o) => resolveEntryOptions(o, defaults))
    let entry: Entry
    let status: FlightOutcome<T>['status']
    if (value === NOT_MODIFIED) {
      if (!previous) {
        throw new FactoryError(key, new Error('notModified() returned but there is no previous value'))
      }
      entry = revalidatedEntry(previous.entry, resolved, context.overrides, at)
      value = context.updated ?? previous.value
      status = 'revalidated'
    } else {
      entry = freshEntry(key, value, codec, resolved, context.overrides, at)
      status = 'miss'
    }
    const outcome = context.store ? 'stored' : 'not-stored'
    publish('fetch', () => ({
      key,
      durationMs: at - started,
      outcome: status === 'revalidated' ? 'not-modified' : outcome,
      lane,
    }))
    // A lost lease (frozen past it, taken over) means another instance may have written a newer value
    // already: hand this one to the callers, but keep it nowhere.
    if (!context.store || lease?.signal.aborted) {
      return { record: { key, tags: entry.tags, bytes: 0, entry, value }, status, stored: false }
    }
    const record = memory.put(entry, value)
    await persist(entry, lease?.fence)
    return { record, status, stored: true }
  }
}

async function withHardTimeout<T>(
  key: string,
  run: () => T | Promise<T>,
  ms: number | undefined,
  hardTimeout: number | undefined,
  controller: AbortController,
): Promise<T> {
  if (ms === undefined) return await run()
  // A hard timeout fails the flight and stops the factory; a soft one (engine/cache.ts) answers
  // the caller with the kept copy and lets the flight go on. `ms` is what is left of it after
  // waiting on another instance's lease.
  return await withDeadline(Promise.resolve(run()), Math.max(0, ms), () => {
    const error = new TimeoutError(key, hardTimeout ?? ms)
    controller.abort(error)
    throw error
  })
}
