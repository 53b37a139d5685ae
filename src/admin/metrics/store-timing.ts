import { performance } from 'node:perf_hooks'
import type { Store } from '../../stores/store.js'

export type StoreTimer = (store: string, operation: string, durationMs: number) => void

/** Contract methods and the operation each is timed as (synchronous reads count as `get`). */
const TIMED = new Map<PropertyKey, string>([
  ...['get', 'set', 'delete', 'invalidate', 'list', 'stats', 'sweep'].map((name) => [name, name] as const),
  ['getSync', 'get'],
  ['getTextSync', 'get'],
])

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
        const operation = TIMED.get(property)
        bound =
          operation === undefined
            ? method.bind(target)
            : (...args: unknown[]) => {
                const started = performance.now()
                const done = () => record(target.name, operation, performance.now() - started)
                let result: unknown
                try {
                  result = method.apply(target, args)
                } finally {
                  if (!(result instanceof Promise)) done()
                }
                if (result instanceof Promise) result.then(done, done)
                return result
              }
        wrapped.set(property, bound)
      }
      return bound
    },
  })
}
