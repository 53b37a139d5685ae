import type { Selector, Store } from '../stores/store.js'
import { StoreError } from '../util/errors.js'
import type { Entry } from './entry.js'
import { publish } from './events.js'

/**
 * The engine's view of a store: every call has a deadline, and a failing or slow store degrades to
 * "missing" (reads) or "not persisted" (writes) with an error event, never to an error for the reader.
 */
export class GuardedStore {
  readonly #store: Store
  readonly #timeoutMs: number

  constructor(store: Store, timeoutMs: number) {
    this.#store = store
    this.#timeoutMs = timeoutMs
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

  async #call<R>(key: string, operation: string, call: () => Promise<R>, fallback: R): Promise<R> {
    let timer: NodeJS.Timeout | undefined
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const reason = `no answer within ${this.#timeoutMs}ms`
          reject(new StoreError(this.#store.name, operation, reason, 'E_STORE_TIMEOUT'))
        }, this.#timeoutMs)
      })
      return await Promise.race([call(), deadline])
    } catch (error) {
      const wrapped = error instanceof StoreError ? error : new StoreError(this.#store.name, operation, error)
      publish('error', () => ({ key, error: wrapped, phase: 'store' }))
      return fallback
    } finally {
      clearTimeout(timer)
    }
  }
}
