import { afterEach, beforeEach, describe } from 'vitest'
import type { Store } from '../../src/stores/store.js'
import { describeBasics } from './contract/basics.js'
import { describeConcurrency } from './contract/concurrency.js'
import { describeInvalidation } from './contract/invalidate.js'
import { describeListing } from './contract/listing.js'
import type { ContractContext, MakeStore, StoreHarness } from './contract/support.js'
import { describeSyncReads } from './contract/sync-reads.js'

export type { MakeStore, StoreHarness } from './contract/support.js'

/**
 * The one behaviour every store driver must show (memory, SQLite, and later Redis and Postgres).
 * Each test gets a fresh, empty store from `makeStore` and it is closed and cleaned up afterwards.
 *
 * Beyond what the Store interface's comments say, the suite pins down:
 * - expiry is `expiresAt <= now`; get() without `now`, list() and delete() use the wall clock;
 * - invalidate counts live entries only (what a get at `now` would have returned), each at most
 *   once (duplicate keys in `keys` count once), and a soft purge never revives an expired entry;
 * - soft invalidation equals model/soft-purge.ts softPurge(entry, now) with no minimum stale window;
 * - list() leaves out expired entries; the cursor is opaque; keys come back in ascending order,
 *   which for ASCII keys is the usual one (drivers may differ for the rest: SQLite, Redis and
 *   Postgres with COLLATE "C" sort by code point, a JavaScript store may sort by UTF-16 unit);
 * - stats() may count expired entries until they are swept, but never swept or deleted ones.
 * No driver specifics belong here; a driver's own file tests those.
 */
export function runStoreContract(name: string, makeStore: MakeStore): void {
  describe(`store contract: ${name}`, () => {
    let harness: StoreHarness | undefined
    let current: Store | undefined
    const reopened: Store[] = []

    beforeEach(async () => {
      harness = await makeStore()
      current = harness.store
    })

    afterEach(async () => {
      for (const store of [current, ...reopened.splice(0)]) await store?.close().catch(() => undefined)
      await harness?.cleanup()
      harness = undefined
      current = undefined
    })

    const ctx: ContractContext = {
      get store(): Store {
        if (current === undefined) throw new Error('no store: used outside a test')
        return current
      },
      get reopen(): (() => Promise<Store>) | undefined {
        const reopen = harness?.reopen
        if (reopen === undefined) return undefined
        return async () => {
          const store = await reopen()
          reopened.push(store)
          return store
        }
      },
    }

    describeBasics(ctx)
    describeInvalidation(ctx)
    describeListing(ctx)
    describeConcurrency(ctx)
    describeSyncReads(ctx)
  })
}
