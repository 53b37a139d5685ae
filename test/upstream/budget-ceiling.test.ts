import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BudgetExceededError, createBudget, type Lane, type Permit } from '../../src/upstream/budget/index.js'
import { FakeClock } from '../support/fake-clock.js'
import { type CeilingRate, ceilingViolation } from './ceiling.js'

const rateArb = fc.record({
  count: fc.integer({ min: 1, max: 50 }),
  perMs: fc.constantFrom(100, 250, 1000, 7000, 60_000),
  burst: fc.integer({ min: 1, max: 8 }),
})
const configArb = fc.record({
  rates: fc.array(rateArb, { minLength: 1, maxLength: 3 }),
  keys: fc.integer({ min: 1, max: 3 }),
  per: fc.constantFrom('upstream' as const, 'key' as const),
  reserve: fc.constantFrom(0, 1, '50%' as const),
})
const laneArb = fc.constantFrom<Lane>('foreground', 'background')
/** Mostly small steps, so attempts land on every ms around a token boundary; sometimes long gaps. */
const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2000 }) },
)

type Config = typeof configArb extends fc.Arbitrary<infer T> ? T : never

function budgetFor(config: Config, clock: { now: () => number }, concurrency?: number) {
  return createBudget({
    rate: config.rates.map((r) => ({ rate: { count: r.count, perMs: r.perMs }, burst: r.burst })),
    keys: config.keys,
    per: config.per,
    reserve: config.reserve,
    ...(concurrency ? { concurrency } : {}),
    now: clock.now,
    ...(clock instanceof FakeClock ? { timers: clock } : {}),
  })
}

/** Grant times per bucket: one bucket per key, or one for the whole upstream. */
function byBucket(permits: Permit[], per: 'upstream' | 'key'): number[][] {
  const buckets = new Map<number, number[]>()
  for (const p of permits) {
    const id = per === 'key' ? p.keyIndex : 0
    buckets.set(id, [...(buckets.get(id) ?? []), p.grantedAt])
  }
  return [...buckets.values()]
}

function check(permits: Permit[], per: 'upstream' | 'key', rates: CeilingRate[]): void {
  for (const times of byBucket(permits, per)) expect(ceilingViolation(times, rates)).toBeUndefined()
}

describe('budget hard ceiling (property)', () => {
  it('tryAcquire never grants more than rate × W + burst over any window, per bucket', () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(fc.record({ dt: stepArb, lane: laneArb }), { maxLength: 250 }),
        (config, attempts) => {
          let t = 1_700_000_000_000
          const budget = budgetFor(config, { now: () => t })
          const permits: Permit[] = []
          for (const attempt of attempts) {
            t += attempt.dt
            const permit = budget.tryAcquire({ lane: attempt.lane })
            if (permit) {
              permits.push(permit)
              permit.release()
            }
          }
          check(permits, config.per, config.rates)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('acquire with waiting, deadlines, pauses and a concurrency cap: ceiling, cap, priority, no hang', async () => {
    const eventArb = fc.record({
      dt: stepArb,
      lane: laneArb,
      wait: fc.integer({ min: 0, max: 3000 }),
      hold: fc.integer({ min: 0, max: 500 }),
      pause: fc.option(
        fc.record({ key: fc.integer({ min: 0, max: 2 }), ms: fc.integer({ min: 1, max: 2000 }) }),
        {
          freq: 8,
        },
      ),
    })
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        fc.array(eventArb, { maxLength: 80 }),
        async (config, concurrency, events) => {
          const clock = new FakeClock()
          const budget = budgetFor(config, clock, concurrency)
          const permits: Permit[] = []
          const inFlight = new Map<number, number>()
          let maxInFlight = 0
          const pending: Promise<void>[] = []
          let foregroundWaiting = 0
          for (const event of events) {
            await clock.advance(event.dt)
            if (event.pause) budget.pause(event.pause.key % config.keys, clock.now() + event.pause.ms, 'test')
            const deadlineMs = clock.now() + event.wait
            const bucket = (p: Permit) => (config.per === 'key' ? p.keyIndex : 0)
            const isForeground = event.lane === 'foreground'
            if (isForeground) foregroundWaiting++
            const done = budget.acquire({ lane: event.lane, deadlineMs }).then(
              (permit) => {
                if (isForeground) foregroundWaiting--
                // strict priority: background is never served while a foreground waiter waits
                else expect(foregroundWaiting).toBe(0)
                expect(permit.grantedAt).toBeLessThanOrEqual(deadlineMs)
                permits.push(permit)
                const n = (inFlight.get(bucket(permit)) ?? 0) + 1
                inFlight.set(bucket(permit), n)
                maxInFlight = Math.max(maxInFlight, n)
                setTimeoutOn(clock, event.hold, () => {
                  inFlight.set(bucket(permit), (inFlight.get(bucket(permit)) ?? 1) - 1)
                  permit.release()
                })
              },
              (error: unknown) => {
                if (isForeground) foregroundWaiting--
                expect(error).toBeInstanceOf(BudgetExceededError)
                expect((error as BudgetExceededError).retryAfterMs).toBeGreaterThanOrEqual(1)
              },
            )
            pending.push(done)
          }
          await clock.advance(10_000)
          await Promise.all(pending)
          check(permits, config.per, config.rates)
          if (concurrency) expect(maxInFlight).toBeLessThanOrEqual(concurrency)
          budget.close()
        },
      ),
      { numRuns: 300 },
    )
  })
})

function setTimeoutOn(clock: FakeClock, ms: number, fn: () => void): void {
  clock.set(fn, ms)
}
