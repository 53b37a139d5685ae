import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from '../gateway/harness.js'
import { fakeTime, until } from '../refresh/helpers.js'
import { FakeClock } from '../support/fake-clock.js'

const RATE = 4
const INTERVAL_MS = 1000 / RATE

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
    // The budget and the simulator's seconds run on a fake clock: the test moves time, and each
    // call a token lets through is answered before it moves on, so the wait measured is the budget's.
    const clock = new FakeClock(Date.now())
    h = await startHarness({ yaml, clock })
    const time = fakeTime(clock, h)
    const upstream = h.gateway.upstreams.get('sim')!
    // Twenty background refreshes at 4/s: five seconds of work queued on the budget.
    const refreshes = Array.from({ length: 20 }, (_, i) =>
      h!.gateway.refreshKey(`/bg/${i}`).then(
        () => 'refreshed',
        () => 'cancelled',
      ),
    )
    // Let the background lane take tokens for a while: the bucket is empty and the queue long.
    await time.advance(600)
    const before = upstream.snapshot().budget!
    expect(before.waiting.background).toBeGreaterThanOrEqual(10)

    // The client's miss joins the queue; time moves until it is answered. Behind the queue, without
    // the foreground lane, it would wait over four seconds.
    const started = clock.now()
    let answeredAt: number | undefined
    const answer = h.get('/bg/client').then((res) => {
      answeredAt = clock.now()
      return res
    })
    await until(() => (upstream.budget!.snapshot().waiting.foreground === 1 ? true : undefined))
    await time.advanceUntil(() => answeredAt !== undefined, { stepMs: 10, maxMs: 5000 })
    const res = await answer
    const elapsed = answeredAt! - started
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache-status')).toBe('MISS')
    console.log(
      `client miss behind ${before.waiting.background} background waiters: ${Math.round(elapsed)} ms`,
    )
    expect(elapsed).toBeLessThanOrEqual(INTERVAL_MS)
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
