import { Agent, request } from 'undici'
import type { Waits } from '../servers/wait-log.js'
import { startServer, stop } from './processes.js'

interface Side {
  name: string
  url: string
  path: (round: number) => string
  agent: Agent
}

/**
 * `count` concurrent requests for one cold key against cistern (its own process, core 0) in front of
 * an upstream answering after `latencyMs` (another process, core 1): how many upstream calls, and how
 * long each waiter waited. Side by side, the same against bare node:http holding the requests for
 * `latencyMs` and then answering them all (bench/servers/bare.ts --hold): the cost of writing that
 * many answers on this machine, which no coalescer can go below.
 */
export async function coalescing(count: number, latencyMs: number, rounds = 3): Promise<string> {
  const sim = await startServer(
    new URL('../servers/sim.js', import.meta.url),
    ['--latency', String(latencyMs)],
    1,
  )
  const simUrl = (JSON.parse(sim.line) as { url: string }).url
  const cistern = await startServer(new URL('../servers/cistern.js', import.meta.url), ['--upstream', simUrl])
  const bare = await startServer(new URL('../servers/bare.js', import.meta.url), [
    '--hold',
    String(latencyMs),
    '1024',
  ])
  const sides: Side[] = [
    { name: 'bare node:http', url: bare.line, path: (round) => `/hold/${round}`, agent: agent(count) },
    {
      name: 'cistern',
      url: (JSON.parse(cistern.line) as { url: string }).url,
      path: (round) => `/cold/${Date.now()}-${round}`,
      agent: agent(count),
    },
  ]
  try {
    const lines = [
      `${count} waiters, upstream latency ${latencyMs} ms; waits in ms; server wait = arrival → answer written ` +
        "(res.end() returned); fan-out = answer ready → last answer written; then → last 'finish'",
      "| round | server | upstream calls | client wait p50 / max | server wait p50 / max | fan-out | last 'finish' |",
      '|---|---|---|---|---|---|---|',
    ]
    const warm = new Map<string, { fanOut: number[]; maxWait: number[] }>()
    for (let round = 0; round < rounds; round++) {
      for (const side of sides) {
        const before = await upstreamCalls(simUrl)
        const { client, server } = await burst(side, count, round)
        const calls = side.name === 'cistern' ? String((await upstreamCalls(simUrl)) - before) : 'n/a'
        const waits = quantiles(client)
        const inside = quantiles(server.waits)
        lines.push(
          `| ${round + 1} | ${side.name} | ${calls} | ${waits(0.5)} / ${waits(1)} | ${inside(0.5)} / ${inside(1)} | ${server.fanOutMs.toFixed(1)} | ${server.lastFinishMs.toFixed(1)} |`,
        )
        // The first rounds include JIT warm-up of the fetch path; the summary is about a warm process.
        if (round < WARM_UP_ROUNDS) continue
        const figures = warm.get(side.name) ?? { fanOut: [], maxWait: [] }
        figures.fanOut.push(server.fanOutMs)
        figures.maxWait.push(Math.max(...server.waits))
        warm.set(side.name, figures)
      }
    }
    for (const [name, figures] of warm) {
      const maxWait = median(figures.maxWait)
      lines.push(
        `warm rounds (${WARM_UP_ROUNDS + 1}–${rounds}), median: ${name}: server max wait ${maxWait.toFixed(1)} ms ` +
          `(upstream latency + ${(maxWait - latencyMs).toFixed(1)}), fan-out ${median(figures.fanOut).toFixed(1)} ms`,
      )
    }
    return lines.join('\n')
  } finally {
    for (const side of sides) await side.agent.close()
    await stop(cistern.child)
    await stop(bare.child)
    await stop(sim.child)
  }
}

const WARM_UP_ROUNDS = 3

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
}

function agent(count: number): Agent {
  return new Agent({ connections: count, pipelining: 1 })
}

async function burst(side: Side, count: number, round: number): Promise<{ client: number[]; server: Waits }> {
  // Open every connection first (concurrent requests to a path the server answers itself), so the
  // measurement is about coalescing and not about TCP handshakes.
  await Promise.all(
    Array.from({ length: count }, () =>
      request(`${side.url}/_warm`, { dispatcher: side.agent }).then((r) => r.body.dump()),
    ),
  )
  const path = side.path(round)
  const client = await Promise.all(
    Array.from({ length: count }, async () => {
      const sent = performance.now()
      const res = await request(side.url + path, { dispatcher: side.agent })
      await res.body.dump()
      return performance.now() - sent
    }),
  )
  const server = (await (await fetch(`${side.url}/_bench/waits`)).json()) as Waits
  return { client, server }
}

async function upstreamCalls(simUrl: string): Promise<number> {
  return ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { total: number }).total
}

function quantiles(values: number[]): (q: number) => string {
  const sorted = [...values].sort((a, b) => a - b)
  return (q) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN).toFixed(1)
}
