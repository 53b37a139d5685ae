import { StoreError } from '../util/errors.js'
import type { Store, StoreHealth } from './store.js'

/**
 * Stands in for a store that could not be opened because its disk or file is at fault (full, I/O
 * errors, corrupt): every call fails at once with the reason, and health() says why. The engine reads
 * failures as misses and skips failed writes, so cistern keeps serving from its memory tier and the
 * upstream, and /readyz reports the store unhealthy, instead of a process that will not start. The file
 * is left exactly as it was for the operator (or a later start) to deal with.
 */
export function unavailableStore(name: string, reason: string): Store {
  const fail = (operation: string) => Promise.reject(new StoreError(name, operation, reason))
  const health: StoreHealth = { ok: false, reason }
  return {
    name,
    get: () => fail('get'),
    set: () => fail('set'),
    delete: () => fail('delete'),
    invalidate: () => fail('invalidate'),
    list: () => fail('list'),
    stats: () => fail('stats'),
    sweep: () => fail('sweep'),
    health: () => health,
    close: () => Promise.resolve(),
  }
}
