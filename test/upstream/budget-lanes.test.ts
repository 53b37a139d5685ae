import { describe, expect, it } from 'vitest'
import { BudgetExceededError, createBudget, type Lane, type Permit } from '../../src/upstream/budget/index.js'
import { FakeClock } from '../support/fake-clock.js'

const far = 1_000_000

describe('budget lanes', () => {
  it('foreground beats background when saturated: a client miss is served within one token interval', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', burst: 5, now: clock.now, timers: clock })
    const order: string[] = []
    const background = Array.from({ length: 100 }, (_, i) =>
      budget.acquire({ lane: 'background', deadlineMs: clock.now() + far }).then((p) => {
        order.push(`bg${i}`)
        return p
      }),
    )
    await clock.advance(2037) // saturated: the background queue drains one token per 100 ms
    expect(budget.snapshot().waiting.background).toBeGreaterThan(70)
    const arrived = clock.now()
    const client = budget.acquire({ lane: 'foreground', deadlineMs: arrived + 100 }).then((p) => {
      order.push('fg')
      return p
    })
    await clock.advance(100)
    const permit = await client
    expect(permit.grantedAt - arrived).toBeLessThanOrEqual(100)
    expect(order.at(-1)).toBe('fg') // it took the very next token, ahead of ~75 queued background waiters
    budget.close()
    await Promise.allSettled(background)
  })

  it('serves waiting foreground before waiting background, FIFO within each lane', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', now: clock.now, timers: clock })
    budget.tryAcquire({ lane: 'foreground' })
    const order: string[] = []
    const queue = (lane: Lane, name: string) =>
      budget.acquire({ lane, deadlineMs: clock.now() + far }).then(() => order.push(name))
    const all = [queue('background', 'b1'), queue('foreground', 'f1'), queue('background', 'b2')]
    all.push(queue('foreground', 'f2'))
    await clock.advance(400)
    await Promise.all(all)
    expect(order).toEqual(['f1', 'f2', 'b1', 'b2'])
  })

  it('keeps the reserve from background (count)', () => {
    const budget = createBudget({ rate: '1/m', burst: 10, reserve: 3, now: () => 0 })
    let background = 0
    while (budget.tryAcquire({ lane: 'background' })) background++
    expect(background).toBe(7)
    let foreground = 0
    while (budget.tryAcquire({ lane: 'foreground' })) foreground++
    expect(foreground).toBe(3)
  })

  it('keeps the reserve from background (share of the burst), per rate', () => {
    const budget = createBudget({
      rate: [
        { rate: '1/m', burst: 10 },
        { rate: '1/h', burst: 20 },
      ],
      reserve: '50%',
      now: () => 0,
    })
    let background = 0
    while (budget.tryAcquire({ lane: 'background' })) background++
    expect(background).toBe(5) // the per-minute bucket must keep 5
    expect(budget.snapshot().keys[0]!.tokens.map((t) => t.reserve)).toEqual([5, 10])
  })

  it('clamps the reserve so background can still run with a burst of 1', () => {
    const budget = createBudget({ rate: '1/s', reserve: 5, now: () => 0 })
    expect(budget.tryAcquire({ lane: 'background' })).toBeDefined()
  })

  it('background waits while the reserve refills and never dips into it', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', burst: 4, reserve: 2, now: clock.now, timers: clock })
    const permits: Permit[] = []
    const pending = Array.from({ length: 6 }, () =>
      budget.acquire({ lane: 'background', deadlineMs: clock.now() + far }).then((p) => permits.push(p)),
    )
    for (let i = 0; i < 10; i++) {
      await clock.advance(50)
      const tokens = budget.snapshot().keys[0]!.tokens[0]!.tokens
      expect(tokens).toBeGreaterThanOrEqual(2)
    }
    // foreground can still take the reserve at once
    expect(budget.tryAcquire({ lane: 'foreground' })).toBeDefined()
    expect(budget.tryAcquire({ lane: 'foreground' })).toBeDefined()
    await clock.advance(2000)
    await Promise.all(pending)
    expect(permits).toHaveLength(6)
  })

  it('rejects background that a newly queued foreground pushes past its deadline, by the next grant', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', now: clock.now, timers: clock })
    budget.tryAcquire({ lane: 'foreground' })
    const start = clock.now()
    const bg = budget.acquire({ lane: 'background', deadlineMs: start + 150 })
    const fg = budget.acquire({ lane: 'foreground', deadlineMs: start + 150 })
    // A background waiter arriving now is told at once that a token at +100 and one at +200 are spoken for.
    const late = await budget
      .acquire({ lane: 'background', deadlineMs: start + 199 })
      .catch((e: unknown) => e)
    expect(late).toMatchObject({ lane: 'background', retryAfterMs: 200 })
    await clock.advance(100)
    expect((await fg).grantedAt).toBe(start + 100)
    const error = await bg.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BudgetExceededError)
    expect(error).toMatchObject({ lane: 'background', reason: 'rate' })
  })

  it('tryAcquire never jumps the queue', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', now: clock.now, timers: clock })
    budget.tryAcquire({ lane: 'foreground' })
    const waiting = budget.acquire({ lane: 'foreground', deadlineMs: clock.now() + far })
    await clock.advance(99)
    expect(budget.tryAcquire({ lane: 'foreground' })).toBeUndefined()
    await clock.advance(1)
    expect((await waiting).grantedAt).toBe(clock.now())
    const bgWaiting = budget.acquire({ lane: 'background', deadlineMs: clock.now() + far })
    await clock.advance(100)
    await bgWaiting
    await clock.advance(100)
    // a background waiter does not block a foreground tryAcquire
    const bg2 = budget.acquire({ lane: 'background', deadlineMs: clock.now() + far })
    expect(budget.tryAcquire({ lane: 'foreground' })).toBeUndefined() // bg2 took the token already
    await clock.advance(100)
    await bg2
  })
})
