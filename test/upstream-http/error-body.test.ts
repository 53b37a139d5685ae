import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type AdminHarness, startAdminHarness } from '../admin/helpers.js'

/** A loopback port nothing listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('upstream error bodies', () => {
  let h: AdminHarness | undefined
  afterEach(() => h?.close())

  it('name the upstream by its config name; its address stays in the logs', async () => {
    const port = await closedPort()
    const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  ftc:
    url: "http://127.0.0.1:${port}/v2"
    auth: { query: { name: token, value: s3cret } }
    retries: { max: 0 }
    breaker: { failures: 2 }
routes:
  - { path: /ftc/:x, upstream: ftc, to: /:x, ttl: 1m }
`
    h = await startAdminHarness({ yaml })
    const bodies: string[] = []
    for (const expected of ['is unreachable', 'is unreachable', 'is DOWN (circuit breaker open)']) {
      const res = await h.get('/ftc/teams')
      expect(res.status).toBe(503)
      const text = await res.text()
      bodies.push(text)
      expect(JSON.parse(text)).toEqual({
        error: { code: 'upstream_unavailable', message: `upstream "ftc" ${expected}` },
      })
    }
    for (const text of bodies) {
      expect(text).not.toContain('127.0.0.1')
      expect(text).not.toContain(String(port))
      expect(text).not.toContain('s3cret')
    }
    // The operator still learns where it failed (admin API, logs), with the URL's secrets masked.
    const snapshot = h.cistern.gateway.upstreams.get('ftc')!.snapshot()
    expect(snapshot.lastError?.message).toContain(`ECONNREFUSED 127.0.0.1:${port}`)
    expect(snapshot.recentCalls[0]!.url).toContain(`127.0.0.1:${port}/v2/teams`)
    expect(snapshot.recentCalls[0]!.url).not.toContain('s3cret')
    const logged = h.logs.filter((line) => line.includes('upstream call failed'))
    expect(logged.some((line) => line.includes(`ECONNREFUSED 127.0.0.1:${port}`))).toBe(true)
    expect(h.logs.join('\n')).not.toContain('s3cret')
  })
})
