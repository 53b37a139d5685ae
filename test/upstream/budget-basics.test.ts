import { describe, expect, it } from 'vitest'
import { BudgetExceededError, createBudget, type Permit } from '../../src/upstream/budget/index.js'
import { CisternError } from '../../src/util/errors.js'
import { FakeClock } from '../support/fake-clock.js'

const fg = { lane: 'foreground' } as const

function drain(budget: { tryAcquire: (o: typeof fg) => Permit | undefined }): number {
  let n = 0
  while (budget.tryAcquire(fg)) n++
  return n
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('budget rates and burst', () => {
  it('grants a full burst at once, then one token per interval', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', burst: 5, now: clock.now, timers: clock })
    expect(drain(budget)).toBe(5)
    await clock.advance(99)
    expect(drain(budget)).toBe(0)
    await clock.advance(1)
    expect(drain(budget)).toBe(1)
    await clock.advance(10_000)
    expect(drain(budget)).toBe(5)
  })

  it('is tight: saturated for 10 s at 10/s with burst 1 it grants exactly 101 (0, 100, ..., 10000 ms)', () => {
    let t = 1_000_000
    const budget = createBudget({ rate: '10/s', now: () => t })
    const times: number[] = []
    for (let i = 0; i <= 10_000; i++, t++) {
      const permit = budget.tryAcquire(fg)
      if (permit) times.push(permit.grantedAt - 1_000_000)
    }
    expect(times).toHaveLength(101)
    expect(times.slice(0, 3)).toEqual([0, 100, 200])
  })

  it('combines several rates: every one must allow', async () => {
    const clock = new FakeClock()
    const budget = createBudget({
      rate: [
        { rate: '10/s', burst: 10 },
        { rate: '20/m', burst: 20 },
      ],
      now: clock.now,
      timers: clock,
    })
    expect(drain(budget)).toBe(10) // the per-second burst
    await clock.advance(1000)
    expect(drain(budget)).toBe(10) // the per-minute bucket still has 10 (+0.33)
    await clock.advance(1000)
    expect(drain(budget)).toBe(0) // per-second is full again, per-minute is empty
    await clock.advance(2000)
    expect(drain(budget)).toBe(1) // one per-minute token every 3 s
  })

  it('accepts parsed rates and fractional counts exactly', () => {
    let t = 0
    const budget = createBudget({ rate: [{ count: 2.5, perMs: 1000 }], now: () => t })
    const times: number[] = []
    for (; t <= 2000; t++) if (budget.tryAcquire(fg)) times.push(t)
    expect(times).toEqual([0, 400, 800, 1200, 1600, 2000])
  })

  it('refuses bad configuration with CisternError', () => {
    expect(() => createBudget({ rate: '10 per second' })).toThrow(CisternError)
    expect(() => createBudget({ rate: '10/s', burst: 0 })).toThrow(/burst/)
    expect(() => createBudget({ rate: '10/s', burst: 1.5 })).toThrow(/burst/)
    expect(() => createBudget({ rate: '10/s', reserve: '150%' })).toThrow(/reserve/)
    expect(() => createBudget({ rate: '10/s', keys: 0 })).toThrow(/keys/)
    expect(() => createBudget({ rate: '10/s', concurrency: 0 })).toThrow(/concurrency/)
    expect(() => createBudget({ rate: [] })).toThrow(/rate/)
  })
})

describe('budget deadlines', () => {
  it('rejects at once, with the computed retryAfterMs, when no token can be had by the deadline', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', now: clock.now, timers: clock })
    expect(budget.tryAcquire(fg)).toBeDefined()
    const error = await rejection(budget.acquire({ ...fg, deadlineMs: clock.now() + 50 }))
    expect(error).toBeInstanceOf(BudgetExceededError)
    expect((error as BudgetExceededError).code).toBe('E_BUDGET')
    expect((error as BudgetExceededError).retryAfterMs).toBe(100)
    expect((error as BudgetExceededError).reason).toBe('rate')
  })

  it('counts the foreground waiters ahead when computing retryAfterMs', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', now: clock.now, timers: clock })
    budget.tryAcquire(fg)
    const start = clock.now()
    const ahead = [1, 2, 3].map(() => budget.acquire({ ...fg, deadlineMs: start + 10_000 }))
    const error = await rejection(budget.acquire({ ...fg, deadlineMs: start + 350 }))
    expect((error as BudgetExceededError).retryAfterMs).toBe(400)
    await clock.advance(300)
    expect((await Promise.all(ahead)).map((p) => p.grantedAt - start)).toEqual([100, 200, 300])
  })

  it('resolves exactly when the token is due if that is within the deadline', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '10/s', now: clock.now, timers: clock })
    budget.tryAcquire(fg)
    const start = clock.now()
    const permit = budget.acquire({ ...fg, deadlineMs: start + 100 })
    await clock.advance(100)
    expect((await permit).grantedAt).toBe(start + 100)
  })

  it('uses one timer for all waiters, no polling', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '100/s', now: clock.now, timers: clock })
    const waiters = Array.from({ length: 50 }, (_, i) =>
      budget.acquire({ lane: i % 2 ? 'background' : 'foreground', deadlineMs: clock.now() + 60_000 }),
    )
    expect(clock.pending).toBe(1)
    await clock.advance(200)
    expect(clock.pending).toBe(1)
    await clock.advance(290) // 50 waiters at 100/s: granted at 0, 10, ..., 490 ms
    await Promise.all(waiters)
    expect(clock.pending).toBe(0)
    expect(clock.setCount).toBeLessThanOrEqual(50)
  })
})

describe('budget concurrency, abort and close', () => {
  it('caps calls in flight; release lets the next waiter in; a full cap rejects at the deadline', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '1000/s', burst: 10, concurrency: 2, now: clock.now, timers: clock })
    const a = budget.tryAcquire(fg)!
    budget.tryAcquire(fg)
    expect(budget.tryAcquire(fg)).toBeUndefined()
    const third = budget.acquire({ ...fg, deadlineMs: clock.now() + 1000 })
    const fourth = budget.acquire({ ...fg, deadlineMs: clock.now() + 500 })
    a.release()
    a.release() // idempotent
    expect((await third).keyIndex).toBe(0)
    await clock.advance(500)
    const error = await rejection(fourth)
    expect((error as BudgetExceededError).reason).toBe('concurrency')
    expect(budget.snapshot().keys[0]!.inFlight).toBe(2)
  })

  it('abort removes the waiter and rejects with the signal reason', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '1/s', now: clock.now, timers: clock })
    budget.tryAcquire(fg)
    const controller = new AbortController()
    const waiting = budget.acquire({ ...fg, deadlineMs: clock.now() + 5000, signal: controller.signal })
    controller.abort(new Error('client went away'))
    expect(await rejection(waiting)).toMatchObject({ message: 'client went away' })
    expect(budget.snapshot().waiting.foreground).toBe(0)
    expect(clock.pending).toBe(0)
  })

  it('close rejects waiters and later acquires with E_CLOSED', async () => {
    const clock = new FakeClock()
    const budget = createBudget({ rate: '1/s', now: clock.now, timers: clock })
    budget.tryAcquire(fg)
    const waiting = budget.acquire({ ...fg, deadlineMs: clock.now() + 5000 })
    budget.close()
    expect(await rejection(waiting)).toMatchObject({ code: 'E_CLOSED' })
    expect(await rejection(budget.acquire({ ...fg, deadlineMs: clock.now() + 5000 }))).toMatchObject({
      code: 'E_CLOSED',
    })
    expect(budget.tryAcquire(fg)).toBeUndefined()
    expect(clock.pending).toBe(0)
  })

  it('works on real, unref-ed timers', async () => {
    const budget = createBudget({ rate: '50/s' })
    budget.tryAcquire(fg)
    const permit = await budget.acquire({ ...fg, deadlineMs: Date.now() + 1000 })
    expect(permit.keyIndex).toBe(0)
    budget.close()
  })
})
