import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startCluster } from '../support/cluster.js'
import type { ServiceHandle } from '../support/services.js'
import { steadyLoad } from '../support/steady-load.js'
import { STORES, type StoreKind, startStoreServer, storeConfig } from './helpers.js'

/**
 * A request still unanswered after this long hangs. Its own deadline is 3 s (1 s for a permit, 2 s
 * for the upstream); the rest is room for a machine whose cores are shared with other work: on a
 * 2-core one at a load average above 20 the slowest answers took 16 to 18 s, with the in-process
 * budget as with the shared one. The budget's own deadlines are checked to the millisecond in
 * test/upstream/shared-budget.test.ts.
 */
const HANG_MS = 30_000

const RATE = 20
const BURST = 5
/**
 * What reaches the origin, timed at the origin, in every sliding 1 s window: at most the rate plus the
 * burst, and one more for arrival jitter (a call arrives a little after its permit, and that delay
 * varies). Windows much shorter than a second are not judged here: on a starved core the origin reads
 * requests that arrived over a few hundred ms in one batch; the budget tests check every window
 * exactly on the grant times.
 */
const MOST_PER_SECOND = RATE + BURST + 1

/**
 * An upstream that enforces its own limit, as the real ones do: at most 20 calls per second plus the
 * burst of 5 in any sliding 1 s window (with the one call of arrival jitter above), answering 429
 * past it.
 */
async function startLimitedOrigin(): Promise<{
  url: string
  arrivals: number[]
  tooMany: () => number
  close(): Promise<void>
}> {
  const arrivals: number[] = []
  let refused = 0
  const server: Server = createServer((req, res) => {
    const now = performance.now()
    let inWindow = 0
    for (let i = arrivals.length - 1; i >= 0 && arrivals[i]! > now - 1000; i--) inWindow++
    if (inWindow + 1 > MOST_PER_SECOND) {
      refused++
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
      res.end('{"error":"rate limited"}')
      return
    }
    arrivals.push(now)
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' })
    res.end(JSON.stringify({ path: req.url }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    tooMany: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function config(kind: StoreKind, storeUrl: string, originUrl: string): string {
  return `
log: { level: warn }
${storeConfig(kind, storeUrl)}
upstreams:
  api:
    url: "${originUrl}"
    timeout: 2s
    budget: { rate: ${RATE}/s, burst: ${BURST}, maxWait: { foreground: 1s } }
routes:
  - { path: /items/:id, upstream: api, to: /items/:id, ttl: 1m }
`
}

/** Most calls in any 1 s window (sliding, from each arrival). */
function busiestSecond(arrivals: number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j]! < sorted[i]! - 1000) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

// Each test starts 3 processes, loads them for 5 s and lets the last requests finish (up to HANG_MS):
// more than the usual 30 s on a 2-core machine shared with other work.
for (const store of STORES) {
  describe.skipIf(store.skip !== undefined)(
    `cluster: one upstream ceiling over three instances on one ${store.kind}`,
    { timeout: 90_000 },
    () => {
      const stops: Array<() => Promise<void>> = []
      afterEach(async () => {
        for (const stop of stops.splice(0).reverse()) await stop()
      })

      async function setup(clockOffset?: (i: number) => string | undefined) {
        const server = await startStoreServer(store)
        stops.push(() => server.stop())
        const origin = await startLimitedOrigin()
        stops.push(() => origin.close())
        const cluster = await startCluster(3, {
          config: () => config(store.kind, server.url, origin.url),
          ...(clockOffset && { clockOffset }),
        })
        stops.push(() => cluster.stop())
        return { server, origin, urls: cluster.instances.map((instance) => instance.url) }
      }

      async function load(
        urls: string[],
        during?: (server: ServiceHandle) => Promise<void>,
        server?: ServiceHandle,
      ) {
        const side = during && server ? during(server) : undefined
        // 2,000 req/s is asked for; what a 2-core machine shared with other work reaches is logged (each
        // request is a miss, so each one asks the budget). In flight is capped: past it the generator
        // skips and says so, rather than piling up sockets.
        const rate = Number(process.env.CLUSTER_LOAD_RATE ?? 2000)
        const result = await steadyLoad({
          urls,
          path: '/items/',
          rate,
          durationMs: 5000,
          maxInFlight: Number(process.env.CLUSTER_LOAD_IN_FLIGHT ?? 256),
          connections: Number(process.env.CLUSTER_LOAD_IN_FLIGHT ?? 256),
          timeoutMs: HANG_MS,
        })
        await side
        const achieved = Math.round(result.sent / (result.elapsedMs / 1000))
        console.log(
          `cluster load: ${achieved} req/s sent over ${urls.length} instances (target ${rate}, ${result.skipped} skipped at the in-flight cap); slowest ${Math.round(result.maxMs)} ms; statuses ${JSON.stringify(result.statuses)}; 5xx ${JSON.stringify(result.codes)}`,
        )
        return { ...result, achieved }
      }

      /** What must hold whatever the machine's speed: the ceiling, and every request answered. */
      function expectCeilingHeld(
        origin: { arrivals: number[]; tooMany: () => number },
        result: { statuses: Record<string, number>; maxMs: number; codes: Record<string, number> },
      ) {
        console.log(
          `origin: ${origin.arrivals.length} calls, busiest 1 s window ${busiestSecond(origin.arrivals)}, ${origin.tooMany()} × 429`,
        )
        expect(origin.tooMany()).toBe(0)
        expect(busiestSecond(origin.arrivals)).toBeLessThanOrEqual(MOST_PER_SECOND)
        // No request hangs: none is left unanswered until the client gives up. (A connection reset, seen
        // once in a while on a starved machine, is counted in the statuses above, not as a hang.)
        expect(result.statuses['error UND_ERR_HEADERS_TIMEOUT'] ?? 0).toBe(0)
        expect(result.statuses['error UND_ERR_BODY_TIMEOUT'] ?? 0).toBe(0)
        expect(result.maxMs).toBeLessThan(HANG_MS)
        // The only 5xx are the budget's (no permit in time) and the upstream's own timeout (an origin on a
        // starved core answering late): none is caused by the store.
        for (const code of Object.keys(result.codes)) {
          expect(code).toMatch(/^(503 upstream_unavailable|504 upstream_timeout)$/)
        }
        // The ceiling is used, not starved. A loose floor: ~5 s at 20/s is ~100 calls on an idle machine,
        // and 30 to 120 were seen on a 2-core one running other work (load average above 20).
        expect(origin.arrivals.length).toBeGreaterThanOrEqual(RATE)
      }

      it('20/s holds in every window under load spread over 3 instances, 0 × 429 from the origin', async () => {
        const { origin, urls } = await setup()
        const result = await load(urls)
        expectCeilingHeld(origin, result)
      })

      it(`${store.kind} shut down mid-load and restarted: no hang, no store-caused 5xx, never above the ceiling, no burst after`, async () => {
        const { server, origin, urls } = await setup()
        const outage = { from: 0, to: 0 }
        const result = await load(
          urls,
          async (server) => {
            await new Promise((resolve) => setTimeout(resolve, 1500))
            await server.kill()
            outage.from = performance.now()
            await new Promise((resolve) => setTimeout(resolve, 2000))
            outage.to = performance.now()
            await server.restart()
          },
          server,
        )
        // Never above the ceiling, before, during and after (no burst when the store is back).
        expectCeilingHeld(origin, result)
        // Fail closed is a share, not a stop: the upstream was still called while the store was down.
        const during = origin.arrivals.filter((t) => t > outage.from + 500 && t < outage.to)
        console.log(
          `origin: ${during.length} calls while ${store.kind} was down (${Math.round(outage.to - outage.from)} ms)`,
        )
        expect(during.length).toBeGreaterThan(0)
      })

      it(`one instance's clock 5 s ahead (faketime) changes nothing: every shared time is the ${store.kind} server's`, async () => {
        const { origin, urls } = await setup((i) => (i === 2 ? '+5s' : undefined))
        const result = await load(urls)
        expectCeilingHeld(origin, result)
      })
    },
  )
}
