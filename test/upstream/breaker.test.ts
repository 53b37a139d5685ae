import { describe, expect, it } from 'vitest'
import { Breaker, type BreakerChange } from '../../src/upstream/health/index.js'

function setup(options: ConstructorParameters<typeof Breaker>[0] = {}) {
  let t = 1_000_000
  const changes: BreakerChange[] = []
  const breaker = new Breaker({
    failureThreshold: 3,
    cooldownMs: 5000,
    now: () => t,
    onStateChange: (c) => changes.push(c),
    ...options,
  })
  return {
    breaker,
    changes,
    advance: (ms: number) => {
      t += ms
    },
    now: () => t,
  }
}

describe('Breaker', () => {
  it('goes DOWN after N consecutive failures; a success in between resets the count', () => {
    const { breaker, changes } = setup()
    breaker.onFailure(new Error('502'))
    breaker.onFailure(new Error('502'))
    breaker.onSuccess()
    breaker.onFailure(new Error('502'))
    breaker.onFailure(new Error('502'))
    expect(breaker.state).toBe('UP')
    breaker.onFailure(new Error('connect ECONNREFUSED'))
    expect(breaker.state).toBe('DOWN')
    expect(breaker.canRequest()).toBe(false)
    expect(changes).toMatchObject([{ from: 'UP', to: 'DOWN', reason: '3 failures in a row' }])
    expect(breaker.snapshot()).toMatchObject({
      state: 'DOWN',
      lastError: { message: 'connect ECONNREFUSED' },
      nextProbeAt: 1_001_000,
      failedProbes: 0,
    })
  })

  it('lets exactly one probe through after the first wait (1 s), and comes UP when it succeeds', () => {
    const { breaker, changes, advance } = setup()
    for (let i = 0; i < 3; i++) breaker.onFailure()
    advance(999)
    expect(breaker.canRequest()).toBe(false)
    expect(breaker.retryAfterMs()).toBe(1)
    advance(1)
    const asked = Array.from({ length: 10 }, () => breaker.canRequest())
    expect(asked.filter(Boolean)).toHaveLength(1)
    expect(asked[0]).toBe(true)
    expect(breaker.state).toBe('PROBING')
    breaker.onSuccess()
    expect(breaker.state).toBe('UP')
    expect(breaker.canRequest()).toBe(true)
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['UP->DOWN', 'DOWN->PROBING', 'PROBING->UP'])
    // the count starts over once UP
    breaker.onFailure()
    breaker.onFailure()
    expect(breaker.state).toBe('UP')
  })

  it('goes DOWN again when the probe fails, the wait doubling each time up to the cool-down', () => {
    const { breaker, changes, advance } = setup({ cooldownMs: 30_000 })
    for (let i = 0; i < 3; i++) breaker.onFailure()
    const waits: number[] = []
    for (let probe = 0; probe < 8; probe++) {
      const wait = breaker.retryAfterMs()
      waits.push(wait)
      advance(wait - 1)
      expect(breaker.canRequest()).toBe(false)
      advance(1)
      expect(breaker.canRequest()).toBe(true)
      expect(breaker.canRequest()).toBe(false)
      advance(200)
      breaker.onFailure(new Error('still down'))
      expect(breaker.state).toBe('DOWN')
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000])
    expect(breaker.snapshot().failedProbes).toBe(8)
    expect(changes.slice(0, 4).map((c) => c.to)).toEqual(['DOWN', 'PROBING', 'DOWN', 'PROBING'])
    expect(changes[2]!.reason).toBe('probe failed')
    // Back UP, the schedule starts over: the next outage is probed after 1 s again.
    advance(30_000)
    expect(breaker.canRequest()).toBe(true)
    breaker.onSuccess()
    expect(breaker.snapshot().failedProbes).toBe(0)
    for (let i = 0; i < 3; i++) breaker.onFailure()
    expect(breaker.retryAfterMs()).toBe(1000)
  })

  it('a timed-out probe doubles the wait too; an unsent one does not', () => {
    const { breaker, advance } = setup({ probeTimeoutMs: 2000, cooldownMs: 30_000 })
    for (let i = 0; i < 3; i++) breaker.onFailure()
    advance(1000)
    expect(breaker.canRequest()).toBe(true)
    breaker.abandonProbe()
    expect(breaker.retryAfterMs()).toBe(0)
    expect(breaker.canRequest()).toBe(true)
    advance(2000)
    expect(breaker.state).toBe('DOWN')
    expect(breaker.retryAfterMs()).toBe(2000)
  })

  it('never waits longer than a cool-down shorter than the first wait', () => {
    const { breaker } = setup({ cooldownMs: 300 })
    for (let i = 0; i < 3; i++) breaker.onFailure()
    expect(breaker.retryAfterMs()).toBe(300)
  })

  it('treats a probe that never reports as failed', () => {
    const { breaker, advance } = setup({ probeTimeoutMs: 2000 })
    for (let i = 0; i < 3; i++) breaker.onFailure()
    advance(1000)
    expect(breaker.canRequest()).toBe(true)
    advance(2000)
    expect(breaker.state).toBe('DOWN')
    expect(breaker.snapshot().lastError?.message).toBe('probe timed out')
  })

  it('ignores results of calls sent before the probe', () => {
    const { breaker, advance, now } = setup()
    const oldCall = now()
    for (let i = 0; i < 3; i++) breaker.onFailure()
    advance(5000)
    expect(breaker.canRequest()).toBe(true)
    breaker.onSuccess(oldCall)
    expect(breaker.state).toBe('PROBING')
    breaker.onFailure(new Error('late'), oldCall)
    expect(breaker.state).toBe('PROBING')
    breaker.onSuccess(now())
    expect(breaker.state).toBe('UP')
  })

  it('optionally trips on an error rate over a sliding window with a minimum volume', () => {
    const { breaker, advance } = setup({
      failureThreshold: 100,
      errorRate: { threshold: 0.5, windowMs: 10_000, minVolume: 10 },
    })
    // alternate: never 100 in a row, 50% failures
    for (let i = 0; i < 4; i++) {
      breaker.onSuccess()
      breaker.onFailure()
    }
    expect(breaker.state).toBe('UP') // 8 calls: under the minimum volume
    breaker.onSuccess()
    breaker.onFailure()
    expect(breaker.state).toBe('DOWN')
    expect(breaker.snapshot().window).toEqual({ calls: 10, failures: 5 })
    advance(5000)
    breaker.canRequest()
    breaker.onSuccess()
    expect(breaker.snapshot().window).toEqual({ calls: 0, failures: 0 })
  })

  it('forgets old failures outside the window', () => {
    const { breaker, advance } = setup({
      failureThreshold: 100,
      errorRate: { threshold: 0.5, windowMs: 10_000, minVolume: 4 },
    })
    for (let i = 0; i < 3; i++) breaker.onFailure()
    advance(20_000)
    breaker.onSuccess()
    breaker.onSuccess()
    breaker.onSuccess()
    breaker.onFailure()
    expect(breaker.state).toBe('UP')
  })
})
