import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { read, STORES, type StoreCluster, startStoreCluster } from './helpers.js'

/**
 * Instances' clocks may disagree (issue 14: "one instance's clock 5 s off"); every shared time comes
 * from the store server. Instance 1 runs 5 s behind and instance 2 5 s ahead (faketime): a purge made on
 * the one ahead must end what the one behind serves at once, though by the purger's clock "now" is
 * 5 s later and by the reader's the entry's freshness would last 5 s longer still.
 * (The ceiling under a skewed clock is in budget.test.ts.)
 */
for (const store of STORES) {
  describe.skipIf(store.skip !== undefined)(`cluster on ${store.kind}: clocks 5 s apart`, () => {
    let cluster: StoreCluster
    beforeAll(async () => {
      cluster = await startStoreCluster(store, 3, (i) => (i === 1 ? '-5s' : i === 2 ? '+5s' : undefined))
    }, 60_000)
    afterAll(() => cluster?.stop(), 30_000)

    async function keyOf(path: string): Promise<string> {
      const res = await cluster.instances[0]!.admin(`/entries?prefix=${encodeURIComponent(path)}`)
      const { items } = (await res.json()) as { items: { key: string }[] }
      expect(items).toHaveLength(1)
      return items[0]!.key
    }

    for (const soft of [true, false]) {
      it(`a ${soft ? 'soft' : 'hard'} purge on the instance ahead ends the copy the one behind serves`, async () => {
        const path = `/data/skew-${soft ? 'soft' : 'hard'}`
        const { instances } = cluster
        for (const instance of instances) expect((await read(`${instance.url}${path}`)).n).toBe(1)
        expect((await read(`${instances[1]!.url}${path}`)).xcache).toBe('HIT')
        const key = await keyOf(path)
        const res = await instances[2]!.admin(
          `/entries?key=${encodeURIComponent(key)}${soft ? '&soft=1' : ''}`,
          { method: 'DELETE' },
        )
        expect(res.status).toBe(200)
        // The purge reaches instance 1's memory tier through the bus; give it the promised 100 ms.
        await new Promise((resolve) => setTimeout(resolve, 150))
        const after = await read(`${instances[1]!.url}${path}`)
        if (soft) {
          // Soft: the kept copy is served as stale (never as a fresh hit) while it is fetched again.
          expect(after.xcache).toBe('STALE')
          let n = after.n
          for (let i = 0; i < 40 && n !== 2; i++) {
            await new Promise((resolve) => setTimeout(resolve, 50))
            n = (await read(`${instances[1]!.url}${path}`)).n
          }
          expect(n).toBe(2)
        } else {
          expect(after.xcache).not.toBe('HIT')
          expect(after.n).toBe(2)
        }
      })
    }
  })
}
