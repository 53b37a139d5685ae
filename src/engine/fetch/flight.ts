import type { Entry } from '../../model/entry.js'
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
}

export interface FlightDeps<T> {
  codec: Codec<T>
  memory: MemoryTier<T>
  defaults: Defaults
  now: () => number
  /** Persist to the store; failures are reported there and never fail the caller. */
  persist: (entry: Entry) => Promise<void>
}

/**
 * Single-flight: at most one factory call per key in this process. Every caller of a key that is
 * already being fetched awaits the same promise; the entry is written to both tiers before it settles.
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
    const promise = this.#fly(key, factory, options, previous, lane).finally(() => {
      this.#inflight.delete(key)
    })
    this.#inflight.set(key, promise)
    return { promise, joined: false }
  }

  async #fly(
    key: string,
    factory: Factory<T>,
    options: ResolvedOptions,
    previous: MemoryRecord<T> | undefined,
    lane: 'foreground' | 'background',
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
      value = await withHardTimeout(key, () => factory(context), options.hardTimeout, controller)
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
    if (!context.store) {
      return { record: { key, tags: entry.tags, bytes: 0, entry, value }, status, stored: false }
    }
    const record = memory.put(entry, value)
    await persist(entry)
    return { record, status, stored: true }
  }
}

async function withHardTimeout<T>(
  key: string,
  run: () => T | Promise<T>,
  ms: number | undefined,
  controller: AbortController,
): Promise<T> {
  if (ms === undefined) return await run()
  // A hard timeout fails the flight and stops the factory; a soft one (engine/cache.ts) answers
  // the caller with the kept copy and lets the flight go on.
  return await withDeadline(Promise.resolve(run()), ms, () => {
    const error = new TimeoutError(key, ms)
    controller.abort(error)
    throw error
  })
}
