import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { burst } from '../support/load.js'
import { read, STORES, type StoreCluster, startStoreCluster } from './helpers.js'

for (const store of STORES) {
  describe.skipIf(store.skip !== undefined)(`cluster on ${store.kind}: one upstream fetch per key`, () => {
    let cluster: StoreCluster
    beforeAll(async () => {
      cluster = await startStoreCluster(store)
    }, 60_000)
    afterAll(() => cluster?.stop(), 30_000)

    it('600 concurrent cold requests for one key spread over 3 instances make 1 upstream call', async () => {
      const { instances, origin } = cluster
      // Slow enough that the three load threads (each fires once its 200 connections are warm) overlap.
      origin.delays.push(2000)
      const results = (
        await Promise.all(
          instances.map((instance) => burst(`${instance.url}/data/cold`, `${instance.url}/data/warm`, 200)),
        )
      ).flat()
      expect(origin.calls('/data/cold')).toBe(1)
      expect(results).toHaveLength(600)
      expect(results.every((r) => r.status === 200)).toBe(true)
      // Every instance served the one answer: the same bytes everywhere.
      expect(new Set(results.map((r) => r.bytes)).size).toBe(1)
      for (const instance of instances) expect((await read(`${instance.url}/data/cold`)).n).toBe(1)
    })
  })
}
