import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { read, STORES, type StoreCluster, startStoreCluster, until } from './helpers.js'

/** The engine's default lease time (createCache leaseTtl): a dead holder delays the others this long. */
const LEASE_MS = 5000

for (const store of STORES) {
  describe.skipIf(store.skip !== undefined)(
    `cluster on ${store.kind}: a lease holder that dies or freezes`,
    () => {
      let cluster: StoreCluster
      beforeEach(async () => {
        cluster = await startStoreCluster(store)
      }, 60_000)
      afterEach(() => cluster?.stop(), 30_000)

      /** 10 requests for `path` on each of instances 1 and 2, with their times. */
      function waiters(path: string) {
        return Promise.all(
          [1, 2].flatMap((index) =>
            Array.from({ length: 10 }, async () => {
              const started = performance.now()
              const answer = await read(`${cluster.instances[index]!.url}${path}`)
              return { ...answer, ms: performance.now() - started }
            }),
          ),
        )
      }

      it('SIGKILLed: waiters are held at most about a lease time, and one more upstream call serves them all', async () => {
        const { instances, origin } = cluster
        origin.delays.push(20_000)
        // Instance 0 takes the lease and asks the upstream, which is slow to answer.
        void read(`${instances[0]!.url}/data/killed`).catch(() => {})
        await until(async () => origin.calls('/data/killed') === 1, 'the holder’s call')
        const waiting = waiters('/data/killed')
        await new Promise((resolve) => setTimeout(resolve, 200))
        await instances[0]!.kill()
        const answers = await waiting
        expect(answers.every((a) => a.status === 200 && a.n === 2)).toBe(true)
        expect(origin.calls('/data/killed')).toBe(2)
        const worst = Math.max(...answers.map((a) => a.ms))
        console.log(`holder killed: waiters answered within ${worst.toFixed(0)} ms`)
        expect(worst).toBeLessThan(LEASE_MS + 2000)
      })

      it('SIGSTOPped past its lease: waiters bounded, one more call, and its late answer is kept nowhere', async () => {
        const { instances, origin } = cluster
        // The holder's answer comes 500 ms after its call, while it is frozen.
        origin.delays.push(500)
        const holder = read(`${instances[0]!.url}/data/frozen`)
        await until(async () => origin.calls('/data/frozen') === 1, 'the holder’s call')
        instances[0]!.freeze()
        try {
          const answers = await waiters('/data/frozen')
          expect(answers.every((a) => a.status === 200 && a.n === 2)).toBe(true)
          expect(origin.calls('/data/frozen')).toBe(2)
          const worst = Math.max(...answers.map((a) => a.ms))
          console.log(`holder frozen: waiters answered within ${worst.toFixed(0)} ms`)
          expect(worst).toBeLessThan(LEASE_MS + 2000)
        } finally {
          instances[0]!.thaw()
        }
        // Thawed, the holder finds its lease lost: its own client gets the answer it fetched...
        expect((await holder).n).toBe(1)
        // ...but it wrote it nowhere: every instance, the holder included, serves the newer one.
        for (const instance of instances) {
          for (let i = 0; i < 5; i++) expect((await read(`${instance.url}/data/frozen`)).n).toBe(2)
        }
        expect(origin.calls('/data/frozen')).toBe(2)
      })
    },
  )
}
