import type { Selector, Store, TextEntry } from '../stores/store.js'
import { StoreError } from '../util/errors.js'
import type { Entry } from './entry.js'
import { publish } from './events.js'

interface Pending {
  deadline: number
  expire(): void
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

  set(entry: Entry): Promise<void> {
    return this.#call(entry.key, 'set', () => this.#store.set(entry), undefined)
  }

  delete(key: string): Promise<boolean> {
    return this.#call(key, 'delete', () => this.#store.delete(key), false)
  }

  invalidate(selector: Selector, soft: boolean, now: number, fallback: number): Promise<number> {
    const label = 'key' in selector ? selector.key : JSON.stringify(selector)
    return this.#call(label, 'invalidate', () => this.#store.invalidate(selector, { soft, now }), fallback)
  }

  #call<R>(key: string, operation: string, call: () => Promise<R>, fallback: R): Promise<R> {
    return new Promise<R>((resolve) => {
      let settled = false
      const fail = (error: unknown) => {
        this.#report(key, operation, error)
        resolve(fallback)
      }
      const pending: Pending = {
        deadline: Date.now() + this.#timeoutMs,
        expire: () => {
          settled = true
          const reason = `no answer within ${this.#timeoutMs}ms`
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

  #report(key: string, operation: string, error: unknown): void {
    const wrapped = error instanceof StoreError ? error : new StoreError(this.#store.name, operation, error)
    publish('error', () => ({ key, error: wrapped, phase: 'store' }))
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
