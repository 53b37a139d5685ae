import { type CreateCacheOptions, createCache } from '../../src/engine/index.js'

/** A clock tests move by hand. */
export function manualClock(start = 1_700_000_000_000) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

export function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

export function cacheWithClock<T>(options: CreateCacheOptions<T> = {}) {
  const clock = manualClock()
  const cache = createCache<T>({ now: clock.now, ...options })
  return { cache, clock }
}

/** Let queued microtasks and immediate callbacks run. */
export const flush = () => new Promise((resolve) => setImmediate(resolve))
