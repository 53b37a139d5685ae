import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.js'

/** Send raw bytes, so no client library normalizes the request target first. */
function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request))
    let out = ''
    socket.on('data', (d) => {
      out += d
    })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
}

const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    ttl: 1h
  - path: /files/*rest
    upstream: ftc
    to: /2025/teams/*rest
    ttl: 1h
`

describe('gateway: no open proxy', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ yaml })
  })
  afterAll(() => h.close())

  const attacks = [
    'GET http://169.254.169.254/latest/meta-data HTTP/1.1',
    'GET http://127.0.0.1:1/ftc/2025/teams/1 HTTP/1.1',
    'GET //evil.example/ftc/2025/teams/1 HTTP/1.1',
    'GET /ftc/2025/teams/..%2F..%2F..%2Fecho HTTP/1.1',
    'GET /ftc/2025/teams/%2e%2e HTTP/1.1',
    'GET /ftc/2025/teams/%2E%2E/%2E%2E/echo HTTP/1.1',
    'GET /ftc/2025/../../echo HTTP/1.1',
    'GET /ftc/2025/teams/a%5c..%5c..%5cecho HTTP/1.1',
    'GET /ftc/2025/teams/x%00 HTTP/1.1',
    'GET /files/../../../echo HTTP/1.1',
    'GET /files/%2e%2e/%2e%2e/echo HTTP/1.1',
    'GET /files/a/..%2f..%2f..%2fecho HTTP/1.1',
    'CONNECT evil.example:443 HTTP/1.1',
    'GET * HTTP/1.1',
  ]

  for (const line of attacks) {
    it(`refuses ${line}`, async () => {
      h.sim.resetStats()
      const response = await raw(h.url, `${line}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`)
      expect(response).toMatch(/^HTTP\/1\.1 (400|404|405)/)
      expect(h.sim.stats().total).toBe(0)
    })
  }

  it('ignores the Host header: the configured upstream is the only one contacted', async () => {
    h.sim.resetStats()
    const response = await raw(
      h.url,
      'GET /ftc/2025/teams/1 HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n',
    )
    expect(response).toMatch(/^HTTP\/1\.1 (200|404)/)
    expect(h.sim.calls.at(-1)!.url).toBe('/v2.0/2025/teams/1')
  })

  it('encodes params so a value can never add a path segment or query', async () => {
    h.sim.resetStats()
    await h.get('/ftc/2025/teams/1%3Fx=1%26y=2')
    expect(h.sim.calls.at(-1)!.url).toBe('/v2.0/2025/teams/1%3Fx%3D1%26y%3D2')
  })
})
