import { Agent, request } from 'undici'
import { startServer, stop } from './processes.js'

/**
 * `count` concurrent requests for one cold key against cistern (its own process) in front of an
 * upstream answering after `latencyMs`: how many upstream calls, and how long each waiter waited.
 */
export async function coalescing(count: number, latencyMs: number): Promise<string> {
  const server = await startServer(new URL('../servers/cistern.js', import.meta.url), [
    '--latency',
    String(latencyMs),
  ])
  const { url, simUrl } = JSON.parse(server.line) as { url: string; simUrl: string }
  const agent = new Agent({ connections: count, pipelining: 1 })
  try {
    const lines: string[] = []
    for (let round = 0; round < 3; round++) {
      // Open every connection first (concurrent requests to a path cistern answers itself), so the
      // measurement is about coalescing and not about TCP handshakes.
      await Promise.all(
        Array.from({ length: count }, () =>
          request(`${url}/_warm`, { dispatcher: agent }).then((r) => r.body.dump()),
        ),
      )
      const before = (await (await fetch(`${simUrl}/_sim/stats`)).json()) as { total: number }
      const path = `/cold/${Date.now()}-${round}`
      const waits = await Promise.all(
        Array.from({ length: count }, async () => {
          const sent = performance.now()
          const res = await request(url + path, { dispatcher: agent })
          await res.body.dump()
          return performance.now() - sent
        }),
      )
      const after = (await (await fetch(`${simUrl}/_sim/stats`)).json()) as { total: number }
      const server = (await (await fetch(`${url}/_bench/waits`)).json()) as number[]
      const client = quantiles(waits)
      const inside = quantiles(server)
      lines.push(
        `round ${round + 1}: ${count} waiters, upstream calls ${after.total - before.total} (upstream latency ${latencyMs} ms)\n` +
          `  wait seen by clients     p50 ${client(0.5)} ms, p99 ${client(0.99)} ms, max ${client(1)} ms\n` +
          `  wait inside cistern      p50 ${inside(0.5)} ms, p99 ${inside(0.99)} ms, max ${inside(1)} ms`,
      )
    }
    return lines.join('\n')
  } finally {
    await agent.close()
    await stop(server.child)
  }
}

function quantiles(values: number[]): (q: number) => string {
  const sorted = [...values].sort((a, b) => a - b)
  return (q) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN).toFixed(1)
}
