import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { UpstreamFailure } from '../../src/upstream/client/failure.js'
import type { Upstream } from '../../src/upstream/create-upstream.js'
import { rejection, upstreamFromYaml } from './upstream.js'

/** Each phase's timeout, on real sockets: how long the failed call took and what it says. */
describe('upstream timeouts', () => {
  let sim: SimUpstream | undefined
  let upstream: Upstream | undefined
  let server: Server | undefined
  const sockets = new Set<Socket>()
  afterEach(async () => {
    await upstream?.client.close()
    await sim?.close()
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
    sim = upstream = server = undefined
  })

  async function failedCall(options: string, url: string, path = '/echo/1') {
    upstream = upstreamFromYaml(url, `retries: { max: 0 }\n${options}`)
    const started = performance.now()
    const error = await rejection(upstream.client.request({ method: 'GET', path, lane: 'foreground' }))
    const ms = performance.now() - started
    console.log(`${options.replace(/\n/g, ', ')}: failed after ${Math.round(ms)} ms`)
    expect(error).toBeInstanceOf(UpstreamFailure)
    const failure = error as UpstreamFailure
    expect(failure.kind).toBe('timeout')
    expect(upstream.snapshot().recentCalls).toMatchObject([{ outcome: 'timeout', method: 'GET' }])
    return { failure, ms }
  }

  // undici checks the headers and body timeouts on a coarse timer: a 300 ms timeout fires after
  // about 1 s here. The upper bounds stay under the total timeout, so each failure is the phase's own.
  it('headers: no answer within timeouts.headers', async () => {
    sim = await startSimUpstream({ changeEveryMs: false, mode: 'hang' })
    const { failure, ms } = await failedCall('timeout: 3s\ntimeouts: { headers: 300ms }', sim.url)
    expect(failure.message).toMatch(/headers timeout/i)
    expect(ms).toBeGreaterThanOrEqual(280)
    expect(ms).toBeLessThan(2900)
  })

  it('body: the body stalls for longer than timeouts.body', async () => {
    // 10 chunks 1.5 s apart. undici checks body (and headers) timeouts on a timer of about half a
    // second's resolution, so a gap must be well over that to be seen as one.
    sim = await startSimUpstream({ changeEveryMs: false, mode: 'slow', slowMs: 15_000 })
    const { failure, ms } = await failedCall('timeout: 4s\ntimeouts: { body: 300ms }', sim.url)
    expect(failure.message).toMatch(/body timeout/i)
    expect(ms).toBeGreaterThanOrEqual(280)
    expect(ms).toBeLessThan(3500)
  })

  it('total: a body that keeps trickling is cut at the total timeout', async () => {
    // 10 chunks 200 ms apart: never idle for timeouts.body, but 2 s in all.
    sim = await startSimUpstream({ changeEveryMs: false, mode: 'slow', slowMs: 2000 })
    const { failure, ms } = await failedCall('timeout: 700ms\ntimeouts: { body: 1s }', sim.url)
    expect(failure.message).toMatch(/no answer in time/)
    expect(ms).toBeGreaterThanOrEqual(680)
    expect(ms).toBeLessThan(1800)
  })

  it('connect: TCP accepted but the TLS handshake never completes', async () => {
    server = createServer((socket) => {
      sockets.add(socket)
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const { failure, ms } = await failedCall(
      'timeout: 3s\ntimeouts: { connect: 300ms }',
      `https://127.0.0.1:${port}`,
      '/anything',
    )
    expect(failure.message).toMatch(/connect timeout/i)
    expect(ms).toBeGreaterThanOrEqual(280)
    expect(ms).toBeLessThan(2900)
  })
})
