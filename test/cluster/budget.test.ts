import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { childEnv } from '../support/child-env.js'
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
 * burst (what the shared GCRA grants in any second: 25, granted exactly at that bound under load), and
 * three more for arrival jitter. A call leaves its instance a little after its permit, and on this
 * 2-core machine, running three instances, the store, the load and the origin at once, that delay
 * varied by up to ~150 ms (three permit intervals): 27 arrivals in a sliding second were seen in about
 * one run in four with one call of slack, and 28 were asked once with two (Node 24, Postgres, the
 * instance under faketime). Exactly on the grant times, every window is checked in
 * test/upstream/shared-budget*.test.ts.
 */
const MOST_PER_SECOND = RATE + BURST + 3

/**
 * The origin (limited-origin.mjs), at most MOST_PER_SECOND calls in any sliding 1 s window, 429 past
 * it, in a process of its own. As root it runs at nice -10, above the instances and the load: a real
 * upstream is another machine, and its clock is not stalled by the cores the cluster starves.
 */
async function startLimitedOrigin(): Promise<{
  url: string
  /** Arrival times (epoch ms) and 429s so far. */
  stats(): Promise<{ arrivals: number[]; refused: number }>
  /** Forget what arrived so far. */
  reset(): Promise<void>
  close(): Promise<void>
}> {
  const script = fileURLToPath(new URL('./limited-origin.mjs', import.meta.url))
  const asRoot = process.getuid?.() === 0
  const child = asRoot
    ? spawn('nice', ['-n', '-10', process.execPath, script, String(MOST_PER_SECOND)], { env: childEnv() })
    : spawn(process.execPath, [script, String(MOST_PER_SECOND)], { env: childEnv() })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const found = /listening (\d+)/.exec(out)
      if (found) resolve(Number(found[1]))
    })
    child.once('exit', (code) => reject(new Error(`limited origin exited with ${code}`)))
  })
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    stats: async () =>
      (await (await fetch(`${url}/__arrivals`)).json()) as { arrivals: number[]; refused: number },
    reset: async () => {
      await fetch(`${url}/__reset`)
    },
    close: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    },
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
        const urls = cluster.instances.map((instance) => instance.url)
        // Warm each instance's request path (a process's first requests run unoptimised code, slowly
        // enough to hold a granted permit back), let the bucket refill, then count from zero: the test
        // judges the steady state, and the warm-up's own calls were within the ceiling anyway.
        await Promise.all(
          urls.map((url, i) => fetch(`${url}/items/warm-${i}`).then((res) => res.arrayBuffer())),
        )
        await new Promise((resolve) => setTimeout(resolve, 1500))
        await origin.reset()
        return { server, origin, urls }
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
          maxInFlight: Number(process.env.CLUSTER_LOAD_IN_FLIGHT ?? 96),
          connections: Number(process.env.CLUSTER_LOAD_IN_FLIGHT ?? 96),
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
      async function expectCeilingHeld(
        origin: { stats(): Promise<{ arrivals: number[]; refused: number }> },
        result: { statuses: Record<string, number>; maxMs: number; codes: Record<string, number> },
      ): Promise<number[]> {
        const { arrivals, refused } = await origin.stats()
        console.log(
          `origin: ${arrivals.length} calls, busiest 1 s window ${busiestSecond(arrivals)}, ${refused} × 429`,
        )
        expect(refused).toBe(0)
        expect(busiestSecond(arrivals)).toBeLessThanOrEqual(MOST_PER_SECOND)
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
        expect(arrivals.length).toBeGreaterThanOrEqual(RATE)
        return arrivals
      }

      it('20/s holds in every window under load spread over 3 instances, 0 × 429 from the origin', async () => {
        const { origin, urls } = await setup()
        const result = await load(urls)
        await expectCeilingHeld(origin, result)
      })

      it(`${store.kind} shut down mid-load and restarted: no hang, no store-caused 5xx, never above the ceiling, no burst after`, async () => {
        const { server, origin, urls } = await setup()
        const outage = { from: 0, to: 0 }
        const result = await load(
          urls,
          async (server) => {
            await new Promise((resolve) => setTimeout(resolve, 1500))
            await server.kill()
            outage.from = performance.timeOrigin + performance.now()
            await new Promise((resolve) => setTimeout(resolve, 2000))
            outage.to = performance.timeOrigin + performance.now()
            await server.restart()
          },
          server,
        )
        // Never above the ceiling, before, during and after (no burst when the store is back).
        const arrivals = await expectCeilingHeld(origin, result)
        // Fail closed is a share, not a stop: the upstream was still called while the store was down.
        const during = arrivals.filter((t) => t > outage.from + 500 && t < outage.to)
        console.log(
          `origin: ${during.length} calls while ${store.kind} was down (${Math.round(outage.to - outage.from)} ms)`,
        )
        expect(during.length).toBeGreaterThan(0)
      })

      it(`one instance's clock 5 s ahead (faketime) changes nothing: every shared time is the ${store.kind} server's`, async () => {
        const { origin, urls } = await setup((i) => (i === 2 ? '+5s' : undefined))
        const result = await load(urls)
        await expectCeilingHeld(origin, result)
      })
    },
  )
}
