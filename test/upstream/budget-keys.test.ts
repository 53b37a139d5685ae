import { describe, expect, it } from 'vitest'
import { BudgetExceededError, createBudget } from '../../src/upstream/budget/index.js'
import { FakeClock } from '../support/fake-clock.js'

const fg = { lane: 'foreground' } as const

describe('budget key pool', () => {
  it('spreads calls across keys, least recently used first', () => {
    const budget = createBudget({ rate: '100/s', burst: 10, per: 'key', keys: 3, now: () => 0 })
    const keys = Array.from({ length: 6 }, () => budget.tryAcquire(fg)!.keyIndex)
    expect(keys).toEqual([0, 1, 2, 0, 1, 2])
  })

  it('can prefer the key with the most tokens left', () => {
    let t = 0
    const budget = createBudget({
      rate: '1/s',
      burst: 3,
      per: 'key',
      keys: 2,
      strategy: 'most-tokens',
      now: () => t,
    })
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(0)
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(1)
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(0) // 2 left on each; ties go to the older key
    t = 1000 // key 0: 1 + 1, key 1: 2 + 1 (capped at 3)
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(1)
  })

  it('gives each key its own bucket: N keys serve N × rate', () => {
    let t = 0
    const budget = createBudget({ rate: '10/s', per: 'key', keys: 2, now: () => t })
    let granted = 0
    for (; t < 1000; t++) while (budget.tryAcquire(fg)) granted++
    expect(granted).toBe(20)
  })

  it('a 429 pause on key A for 3 s leaves key B serving; A comes back after', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', per: 'key', keys: 2, now: clock.now, timers: clock })
    const start = clock.now()
    budget.pause(0, start + 3000, '429 Retry-After: 3')
    const snapshot = budget.snapshot().keys[0]!
    expect(snapshot).toMatchObject({ pausedUntil: start + 3000, pauseReason: '429 Retry-After: 3' })
    const used: number[] = []
    for (let i = 0; i < 30; i++) {
      const permit = await budget.acquire({ ...fg, deadlineMs: clock.now() + 1000 })
      used.push(permit.keyIndex)
      permit.release()
      await clock.advance(100)
    }
    expect(used.every((k) => k === 1)).toBe(true)
    expect(clock.now() - start).toBe(3000)
    const after = [budget.tryAcquire(fg)!.keyIndex, budget.tryAcquire(fg)?.keyIndex]
    expect(after).toContain(0)
    expect(budget.snapshot().keys[0]!.pausedUntil).toBeUndefined()
  })

  it('with every key paused, waits for the pause when the deadline allows, else rejects with it', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', per: 'key', keys: 2, now: clock.now, timers: clock })
    const start = clock.now()
    budget.pause(0, start + 2000, 'rejected key')
    budget.pause(1, start + 1000, '429')
    const error = await budget.acquire({ ...fg, deadlineMs: start + 500 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BudgetExceededError)
    expect(error).toMatchObject({ reason: 'paused', retryAfterMs: 1000 })
    const waiting = budget.acquire({ ...fg, deadlineMs: start + 1500 })
    await clock.advance(1000)
    expect(await waiting).toMatchObject({ keyIndex: 1, grantedAt: start + 1000 })
  })

  it('wakes when a paused key comes back even while the other key is busy (concurrency)', async () => {
    const clock = new FakeClock()
    const budget = createBudget({
      rate: '10/s',
      burst: 2,
      per: 'key',
      keys: 2,
      concurrency: 1,
      now: clock.now,
      timers: clock,
    })
    const start = clock.now()
    budget.pause(1, start + 50, '429')
    const busy = budget.tryAcquire(fg)!
    expect(busy.keyIndex).toBe(0)
    const waiting = budget.acquire({ ...fg, deadlineMs: start + 1000 })
    await clock.advance(50)
    expect(await waiting).toMatchObject({ keyIndex: 1, grantedAt: start + 50 })
  })

  it("pause('all') stops every key; a pause never shortens an earlier, longer one", async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', per: 'key', keys: 2, now: clock.now, timers: clock })
    const start = clock.now()
    budget.pause(1, start + 5000, '429')
    budget.pause('all', start + 1000, '503 Retry-After: 1')
    expect(budget.tryAcquire(fg)).toBeUndefined()
    await clock.advance(1000)
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(0)
    expect(budget.snapshot().keys[1]).toMatchObject({ pausedUntil: start + 5000, pauseReason: '429' })
    expect(() => budget.pause(2, start, 'x')).toThrow(RangeError)
  })

  it('a pause rejects waiters whose deadline falls inside it', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', now: clock.now, timers: clock })
    budget.tryAcquire(fg)
    const waiting = budget.acquire({ ...fg, deadlineMs: clock.now() + 500 })
    budget.pause('all', clock.now() + 3000, '503')
    expect(await waiting.catch((e: unknown) => e)).toMatchObject({ reason: 'paused', retryAfterMs: 3000 })
  })

  it("per 'upstream' shares one bucket across the keys but still rotates and pauses them", () => {
    let t = 0
    const budget = createBudget({ rate: '10/s', burst: 2, keys: 2, now: () => t })
    budget.pause(0, 10_000, '403 invalid IP')
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(1)
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(1)
    expect(budget.tryAcquire(fg)).toBeUndefined()
    t = 100
    expect(budget.tryAcquire(fg)!.keyIndex).toBe(1)
  })

  it('snapshot shows tokens per rate, calls in the last minute and hour', async () => {
    const clock = new FakeClock()
    const budget = createBudget({
      rate: ['10/s', '100/h'],
      burst: 5,
      per: 'key',
      keys: 2,
      now: clock.now,
      timers: clock,
    })
    for (let i = 0; i < 4; i++) budget.tryAcquire(fg)
    await clock.advance(61_000)
    budget.tryAcquire(fg)
    const snap = budget.snapshot()
    expect(snap.per).toBe('key')
    expect(snap.waiting).toEqual({ foreground: 0, background: 0 })
    expect(snap.keys[0]!.calls).toEqual({ lastMinute: 1, lastHour: 3 })
    expect(snap.keys[1]!.calls).toEqual({ lastMinute: 0, lastHour: 2 })
    expect(snap.keys[0]!.tokens.map((r) => r.rate)).toEqual(['10/s', '100/h'])
    expect(snap.keys[0]!.tokens[0]!.tokens).toBe(4)
    budget.close()
  })
})
