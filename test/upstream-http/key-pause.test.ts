import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from '../gateway/harness.js'

// Two bearer keys, one budget per key. The gateway and the sim share a clock that a test can move
// forward, so "3 seconds later" costs no real waiting.
const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: memory }
upstreams:
  pool:
    url: "\${SIM_URL}"
    auth: { bearer: [k1, k2] }
    budget: { rate: 10/s, burst: 5, per: key }
    timeout: 2s
routes:
  - path: /teams/:team
    upstream: pool
    to: /2025/teams?teamNumber=:team
    ttl: 1h
`

describe('key pool: a 429 pauses only the key that got it', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())

  it('Retry-After: 3 pauses that key for 3 s while the other key keeps serving', async () => {
    let offset = 0
    const now = () => Date.now() + offset
    h = await startHarness({ yaml, now, sim: { now, auth: { bearer: ['k1', 'k2'] } } })
    const harness = h
    const upstream = h.gateway.upstreams.get('pool')!
    const teams = h.sim.teamNumbers(2025)
    let next = 0
    const miss = async () => {
      const res = await harness.get(`/teams/${teams[next++]}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-cache-status')).toBe('MISS')
      await res.arrayBuffer()
    }
    const byKey = () => harness.sim.stats().byKey

    // k1 is locked upstream: its next call is answered 429 with Retry-After: 3.
    h.sim.lockKey('k1', 3)
    const lockedAt = now()
    // The first call goes to k1 (the least recently used key), gets the 429, and the retry goes to k2:
    // the client never sees the 429.
    await miss()
    const missedAt = now()
    expect(byKey()).toEqual({ k1: 1, k2: 1 })
    const calls = upstream.snapshot().recentCalls
    expect(calls.map((c) => [c.keyIndex, c.status, c.outcome])).toEqual([
      [0, 429, 'rate-limited'],
      [1, 200, 'ok'],
    ])
    const [k1, k2] = upstream.snapshot().budget!.keys
    expect(k1!.pausedUntil! - lockedAt).toBeGreaterThanOrEqual(3000)
    // Stamped when the 429 came back, somewhere inside that first miss.
    expect(k1!.pausedUntil!).toBeLessThanOrEqual(missedAt + 3000)
    expect(k1!.pauseReason).toMatch(/429, Retry-After 3s/)
    expect(k2!.pausedUntil).toBeUndefined()

    // While k1 is paused, k2 serves everything and k1 is not tried again, although it is the least
    // recently used key (the one the pool would pick first) — up to just before its 3 s are over.
    for (let i = 0; i < 5; i++) await miss()
    offset += k1!.pausedUntil! - now() - 600
    await miss()
    expect(byKey()).toEqual({ k1: 1, k2: 7 })

    // Three seconds after the 429, k1 is back in the pool (and the sim lets it through again).
    offset += Math.max(0, k1!.pausedUntil! - now()) + 1
    expect(upstream.snapshot().budget!.keys[0]!.pausedUntil).toBeUndefined()
    for (let i = 0; i < 4; i++) await miss()
    expect(byKey()).toEqual({ k1: 3, k2: 9 })
    expect(h.sim.stats().byStatus['429']).toBe(1)
    // Calls are spread across the keys again, least recently used first.
    const last = upstream.snapshot().recentCalls.slice(-4)
    expect(last.map((c) => c.keyIndex)).toEqual([0, 1, 0, 1])
    expect(last.every((c) => c.status === 200)).toBe(true)
    // What the admin API shows carries no credential.
    expect(JSON.stringify(upstream.snapshot())).not.toMatch(/k1|k2/)
  })
})
