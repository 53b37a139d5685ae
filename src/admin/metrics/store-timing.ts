import { performance } from 'node:perf_hooks'
import type { Store } from '../../stores/store.js'

export type StoreTimer = (store: string, operation: string, durationMs: number) => void

const TIMED = new Set<PropertyKey>(['get', 'set', 'delete', 'invalidate', 'list', 'stats', 'sweep'])

/**
 * The store, with every contract call timed into `record` (cistern_store_operation_duration_seconds).
 * startCistern hands this to the gateway through its existing `store` option, so store latency is
 * measured without touching the engine; memory-tier hits never reach it. A Proxy rather than a
 * wrapper object: anything a driver offers beyond the contract (and `instanceof`) still works, and
 * methods run with the real store as `this` so its private fields stay reachable.
 */
export function timedStore(store: Store, record: StoreTimer): Store {
  const wrapped = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let bound = wrapped.get(property)
      if (bound === undefined) {
        const method = value as (...args: unknown[]) => unknown
        bound = TIMED.has(property)
          ? (...args: unknown[]) => {
              const started = performance.now()
              const result = method.apply(target, args)
              if (result instanceof Promise) {
                const done = () => record(target.name, String(property), performance.now() - started)
                result.then(done, done)
              }
              return result
            }
          : method.bind(target)
        wrapped.set(property, bound)
      }
      return bound
    },
  })
}
