import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from '../gateway/harness.js'

const RATE = 4
const INTERVAL_MS = 1000 / RATE
// Scheduling on a shared 2-core machine: the timer, two HTTP hops on loopback, the sim's answer
// (measured: 155-160 ms in all; the margin is for a loaded CI machine). Behind the queue, without
// the foreground lane, the same request would wait over four seconds.
const SLACK_MS = 350

const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  sim:
    url: "\${SIM_ROOT}"
    budget: { rate: ${RATE}/s, burst: 1 }
    timeout: 5s
routes:
  - path: /bg/:n
    upstream: sim
    to: /echo/:n
    ttl: 1h
`

describe('lanes: foreground beats background', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())

  it('with the budget saturated by background refreshes, a client miss is served within one token interval', async () => {
    h = await startHarness({ yaml })
    const upstream = h.gateway.upstreams.get('sim')!
    // Twenty background refreshes at 4/s: five seconds of work queued on the budget.
    const refreshes = Array.from({ length: 20 }, (_, i) =>
      h!.gateway.refreshKey(`/bg/${i}`).then(
        () => 'refreshed',
        () => 'cancelled',
      ),
    )
    // Let the background lane take tokens for a while: the bucket is empty and the queue long.
    await sleep(600)
    const before = upstream.snapshot().budget!
    // (The bucket's own token count is not checked: a token that came due a moment ago is granted
    // by the budget's timer, which a loaded machine may run late.)
    expect(before.waiting.background).toBeGreaterThanOrEqual(10)

    const started = performance.now()
    const res = await h.get('/bg/client')
    const elapsed = performance.now() - started
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache-status')).toBe('MISS')
    console.log(
      `client miss behind ${before.waiting.background} background waiters: ${Math.round(elapsed)} ms`,
    )
    expect(elapsed).toBeLessThan(INTERVAL_MS + SLACK_MS)
    // It went ahead of the background work still queued.
    expect(upstream.snapshot().budget!.waiting.background).toBeGreaterThanOrEqual(
      before.waiting.background - 2,
    )
    const calls = upstream.snapshot().recentCalls
    const client = calls.find((call) => call.lane === 'foreground')
    expect(client?.url).toMatch(/\/echo\/client$/)
    expect(calls.filter((call) => call.lane === 'background').length).toBeGreaterThanOrEqual(2)
    // The ceiling held for both lanes together.
    const seconds = h.sim.stats().perSecond.map((s) => s.count)
    expect(Math.max(...seconds)).toBeLessThanOrEqual(RATE + 1)
    await h.close()
    // Closing the gateway cancels the queued background work instead of leaving it hanging.
    expect((await Promise.all(refreshes)).filter((r) => r === 'cancelled').length).toBeGreaterThan(0)
    h = undefined
  })
})
