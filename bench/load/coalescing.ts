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
      waits.sort((a, b) => a - b)
      const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))]!.toFixed(1)
      lines.push(
        `round ${round + 1}: ${count} waiters, upstream calls ${after.total - before.total}, wait p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (upstream ${latencyMs} ms)`,
      )
    }
    return lines.join('\n')
  } finally {
    await agent.close()
    await stop(server.child)
  }
}
