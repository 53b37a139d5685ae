import type { Entry } from '../model/entry.js'
import type {
  ListPage,
  ListQuery,
  Selector,
  SetOptions,
  Store,
  StoreHealth,
  StoreStats,
  TextEntry,
} from '../stores/store.js'
import { StoreError } from '../util/errors.js'
import { publish } from './events.js'

/** The fallback of a call whose failure rejects instead of degrading. */
const REJECT = Symbol('reject')

interface Pending {
  deadline: number
  expire(): void
}

/** A failed store call keeps the store reported unhealthy for this long (unless calls keep failing). */
export const FAILURE_WINDOW_MS = 30_000

/**
 * A page of a listing reads up to 1000 rows of metadata, not one entry: it gets this many store
 * timeouts to answer.
 */
export const LIST_TIMEOUT_FACTOR = 5

/** What /readyz shows of the store: its own verdict, or recent failed calls. */
export interface GuardedStoreHealth extends StoreHealth {
  /** Failed or timed-out calls within the last FAILURE_WINDOW_MS. */
  recentFailures: number
}

/**
 * The engine's view of a store: every call has a deadline, and a failing or slow store degrades to
 * "missing" (reads) or "not persisted" (writes) with an error event, never to an error for the reader.
 * Deadlines share one unref'd interval instead of a timer per call: store calls sit on the read path.
 */
export class GuardedStore {
  readonly #store: Store
  readonly #timeoutMs: number
  readonly #pending = new Set<Pending>()
  #sweeper: NodeJS.Timeout | undefined
  /** Times of recent failures (at most 100 kept: enough to say "many"), oldest first. */
  readonly #failures: number[] = []
  #lastFailure = ''

  /**
   * A synchronous read when the store offers one (embedded stores): no promise and no deadline,
   * which a call that blocks until it returns could never overrun anyway. Failures read as missing.
   */
  readonly getSync: ((key: string, now: number) => Entry | undefined) | undefined
  /** Likewise for stores that can read a value as text (see Store.getTextSync). */
  readonly getTextSync: ((key: string, now: number) => TextEntry | undefined) | undefined

  constructor(store: Store, timeoutMs: number) {
    this.#store = store
    this.#timeoutMs = timeoutMs
    this.getSync = this.#guardSync(store.getSync?.bind(store))
    this.getTextSync = this.#guardSync(store.getTextSync?.bind(store))
  }

  #guardSync<E>(
    read: ((key: string, now: number) => E | undefined) | undefined,
  ): ((key: string, now: number) => E | undefined) | undefined {
    if (!read) return undefined
    return (key, now) => {
      try {
        return read(key, now)
      } catch (error) {
        this.#report(key, 'get', error)
        return undefined
      }
    }
  }

  get(key: string, now: number): Promise<Entry | undefined> {
    return this.#call(key, 'get', () => this.#store.get(key, now), undefined)
  }

  set(entry: Entry, options?: SetOptions): Promise<void> {
    return this.#call(entry.key, 'set', () => this.#store.set(entry, options), undefined)
  }

  delete(key: string): Promise<boolean> {
    return this.#call(key, 'delete', () => this.#store.delete(key), false)
  }

  invalidate(selector: Selector, soft: boolean, now: number, fallback: number): Promise<number> {
    const label = 'key' in selector ? selector.key : JSON.stringify(selector)
    return this.#call(label, 'invalidate', () => this.#store.invalidate(selector, { soft, now }), fallback)
  }

  /**
   * A page of entry metadata. Unlike reads, a failure or a missed deadline rejects (with a
   * StoreError): a listing has no "missing" to degrade to, and its callers report the failure.
   */
  list(query: ListQuery): Promise<ListPage> {
    const label = JSON.stringify(query)
    return this.#call(
      label,
      'list',
      () => this.#store.list(query),
      REJECT,
      this.#timeoutMs * LIST_TIMEOUT_FACTOR,
    )
  }

  /** The store's counters; a failure or a missed deadline rejects, as for list(). */
  stats(): Promise<StoreStats> {
    return this.#call('', 'stats', () => this.#store.stats(), REJECT)
  }

  /** `fallback` answers a failed call; REJECT passes the failure (a StoreError) on to the caller instead. */
  #call<R>(
    key: string,
    operation: string,
    call: () => Promise<R>,
    fallback: R | typeof REJECT,
    timeoutMs = this.#timeoutMs,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let settled = false
      const fail = (error: unknown) => {
        const reported = this.#report(key, operation, error)
        if (fallback === REJECT) reject(reported)
        else resolve(fallback)
      }
      const pending: Pending = {
        deadline: Date.now() + timeoutMs,
        expire: () => {
          settled = true
          const reason = `no answer within ${timeoutMs}ms`
          fail(new StoreError(this.#store.name, operation, reason, 'E_STORE_TIMEOUT'))
        },
      }
      this.#track(pending)
      const done = (outcome: () => void) => {
        this.#pending.delete(pending)
        if (settled) return
        settled = true
        outcome()
      }
      let promise: Promise<R>
      try {
        promise = call()
      } catch (error) {
        done(() => fail(error))
        return
      }
      promise.then(
        (value) => done(() => resolve(value)),
        (error: unknown) => done(() => fail(error)),
      )
    })
  }

  /**
   * Unhealthy while the store says so (a damaged file found at open, a store that could not open) or
   * while any call failed within the last FAILURE_WINDOW_MS: with a full disk reads still answer, so
   * only the failed writes tell. Cheap and synchronous, for /readyz.
   */
  health(now = Date.now()): GuardedStoreHealth {
    while (this.#failures.length > 0 && this.#failures[0]! <= now - FAILURE_WINDOW_MS) this.#failures.shift()
    const recentFailures = this.#failures.length
    const own = this.#store.health?.()
    if (own && !own.ok) return { ...own, recentFailures }
    if (recentFailures === 0) return { ok: true, recentFailures }
    const seconds = FAILURE_WINDOW_MS / 1000
    const reason = `${recentFailures}${recentFailures === 100 ? '+' : ''} store calls failed in the last ${seconds}s, the latest: ${this.#lastFailure}`
    return { ok: false, reason, recentFailures }
  }

  #report(key: string, operation: string, error: unknown): StoreError {
    const wrapped = error instanceof StoreError ? error : new StoreError(this.#store.name, operation, error)
    this.#failures.push(Date.now())
    if (this.#failures.length > 100) this.#failures.shift()
    this.#lastFailure = wrapped.message
    publish('error', () => ({ key, error: wrapped, phase: 'store' }))
    return wrapped
  }

  #track(pending: Pending): void {
    this.#pending.add(pending)
    if (this.#sweeper) return
    const every = Math.max(5, Math.min(250, Math.floor(this.#timeoutMs / 4)))
    this.#sweeper = setInterval(() => {
      const now = Date.now()
      for (const p of this.#pending) {
        if (p.deadline > now) continue
        this.#pending.delete(p)
        p.expire()
      }
      if (this.#pending.size === 0) {
        clearInterval(this.#sweeper)
        this.#sweeper = undefined
      }
    }, every)
    this.#sweeper.unref()
  }
}
