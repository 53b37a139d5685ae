/**
 * A store with an off switch, for showing what guild-api does when its cache server is unreachable:
 * while `down`, every call fails the way a dropped Redis connection does (a rejected promise, a
 * thrown synchronous read), and the real store underneath is left alone.
 */
import { type Store, StoreError } from '../../src/index.js'

export interface SwitchableStore extends Store {
  down: boolean
  /** Calls refused while down. */
  readonly refused: number
}

export function withOutageSwitch(store: Store): SwitchableStore {
  let refused = 0
  const fail = (operation: string) => {
    refused++
    return new StoreError(store.name, operation, 'connection refused (ECONNREFUSED)')
  }
  const guarded: SwitchableStore = {
    name: store.name,
    down: false,
    get refused() {
      return refused
    },
    get: (key, now) => (guarded.down ? Promise.reject(fail('get')) : store.get(key, now)),
    set: (entry) => (guarded.down ? Promise.reject(fail('set')) : store.set(entry)),
    delete: (key) => (guarded.down ? Promise.reject(fail('delete')) : store.delete(key)),
    invalidate: (selector, options) =>
      guarded.down ? Promise.reject(fail('invalidate')) : store.invalidate(selector, options),
    list: (query) => (guarded.down ? Promise.reject(fail('list')) : store.list(query)),
    stats: () => (guarded.down ? Promise.reject(fail('stats')) : store.stats()),
    sweep: (now, limit) => (guarded.down ? Promise.reject(fail('sweep')) : store.sweep(now, limit)),
    close: () => store.close(),
  }
  if (store.getSync) {
    const read = store.getSync.bind(store)
    guarded.getSync = (key, now) => {
      if (guarded.down) throw fail('get')
      return read(key, now)
    }
  }
  return guarded
}
