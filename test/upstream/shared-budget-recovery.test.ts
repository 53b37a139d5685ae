import { describe, expect, it } from 'vitest'
import {
  Bucket,
  BudgetExceededError,
  createSharedBudget,
  type Lane,
  normalizeLimits,
  type SharedBudget,
  type SharedCeiling,
} from '../../src/upstream/budget/index.js'
import { FakeClock } from '../support/fake-clock.js'
import { ceilingViolation } from './ceiling.js'

/**
 * A store server on a fake clock that each instance may or may not reach: GCRA buckets (the budget's
 * own Bucket) and pauses, as the Redis ceiling keeps them. Deterministic, so the ceiling is checked
 * exactly, with no slack for network jitter.
 */
class FakeServer {
  readonly reachable = new Set<string>()
  /** Tokens each bucket has granted. */
  readonly granted = new Map<string, number>()
  readonly #buckets = new Map<string, Bucket>()
  readonly #pauses = new Map<string, { until: number; reason: string }>()
  readonly #clock: FakeClock

  constructor(clock: FakeClock) {
    this.#clock = clock
  }

  ceiling(instance: string, live: number): SharedCeiling {
    const reach = async () => {
      if (!this.reachable.has(instance)) throw new Error(`${instance} cannot reach the server`)
    }
    return {
      take: async (bucket, rate, lane: Lane) => {
        await reach()
        const now = this.#clock.now()
        const pause = this.#pauses.get(bucket)
        if (pause && pause.until > now)
          return { granted: false, retryInMs: pause.until - now, pausedFor: pause.reason }
        let state = this.#buckets.get(bucket)
        if (!state) {
          const limits = normalizeLimits({
            rate: { rate: { count: 1, perMs: rate.intervalMs }, burst: rate.burst, reserve: rate.reserve },
          })
          state = new Bucket(limits, now)
          this.#buckets.set(bucket, state)
        }
        const at = state.earliest(now, lane)
        if (at > now) return { granted: false, retryInMs: at - now }
        state.take(now)
        this.granted.set(bucket, (this.granted.get(bucket) ?? 0) + 1)
        return { granted: true }
      },
      pause: async (bucket, forMs, reason) => {
        await reach()
        const until = this.#clock.now() + forMs
        if ((this.#pauses.get(bucket)?.until ?? 0) < until) this.#pauses.set(bucket, { until, reason })
      },
      liveInstances: () => live,
    }
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Three instances asking every 10 ms (each ask waiting up to 100 ms) for 5 s of fake time; the server
 * goes away for everyone at 1000 and is back at 2900. With `stagger`, b and c ask nothing from 900 to
 * 1250, so they find the outage (and probe) 250 ms after a.
 */
async function outage(stagger: boolean) {
  const clock = new FakeClock(0)
  const server = new FakeServer(clock)
  const names = ['a', 'b', 'c']
  for (const name of names) server.reachable.add(name)
  const budgets: Record<string, SharedBudget> = {}
  for (const name of names) {
    budgets[name] = createSharedBudget({
      name: 'api',
      rate: '20/s',
      burst: 5,
      reserve: 0,
      shared: { ceiling: server.ceiling(name, names.length), healthy: () => true },
      probeMs: 500,
      now: clock.now,
      timers: clock,
    })
  }
  const grants: number[] = []
  const local: Record<string, number[]> = { a: [], b: [], c: [] }
  for (let t = 0; t < 5000; t += 10) {
    if (t === 1000) server.reachable.clear()
    if (t === 2900) for (const name of names) server.reachable.add(name)
    for (const name of names) {
      if (stagger && name !== 'a' && t >= 900 && t < 1250) continue
      const budget = budgets[name]!
      budget.acquire({ lane: 'foreground', deadlineMs: clock.now() + 100 }).then(
        (permit) => {
          grants.push(clock.now())
          if (budget.onLocalShare) local[name]!.push(clock.now())
          permit.release()
        },
        () => {},
      )
    }
    await clock.advance(10, settle)
  }
  const back = Object.values(budgets).every((budget) => !budget.onLocalShare)
  for (const budget of Object.values(budgets)) budget.close()
  return { grants, local, back }
}

describe('shared budget: a store outage', () => {
  it('spends a local share that starts empty: what the server granted just before is not granted twice', async () => {
    const { grants, local, back } = await outage(false)
    // Each instance spent its local share during the outage, and came back to the shared ceiling.
    for (const name of ['a', 'b', 'c']) expect(local[name]!.length).toBeGreaterThan(5)
    expect(back).toBe(true)
    expect(ceilingViolation(grants, [{ count: 20, perMs: 1000, burst: 5 }])).toBeUndefined()
    // The ceiling was used: ~5 s at 20/s, less the outage's rounding and the recovery pause.
    expect(grants.length).toBeGreaterThan(70)
  })

  it('pauses the ceiling on its way back, so instances still on their local share never add up to a burst', async () => {
    // a is back on the server at its probe at 3000, b and c at 3250: without the pause, a would spend
    // the server's whole bucket while b and c still spend their local shares.
    const { grants, local, back } = await outage(true)
    for (const name of ['a', 'b', 'c']) expect(local[name]!.length).toBeGreaterThan(5)
    expect(back).toBe(true)
    expect(ceilingViolation(grants, [{ count: 20, perMs: 1000, burst: 5 }])).toBeUndefined()
    expect(grants.length).toBeGreaterThan(70)
  })
})

describe('shared budget without a rate: a store outage', () => {
  it('grants every call on its way back: no recovery pause where there is no ceiling to keep', async () => {
    const clock = new FakeClock(0)
    const server = new FakeServer(clock)
    server.reachable.add('a')
    const budget = createSharedBudget({
      name: 'api',
      // As createUpstream passes an upstream with no rate configured.
      rate: [],
      unlimited: true,
      shared: { ceiling: server.ceiling('a', 1), healthy: () => true },
      probeMs: 500,
      now: clock.now,
      timers: clock,
    })
    const refused: number[] = []
    let granted = 0
    let onLocalShare = false
    for (let t = 0; t < 4000; t += 10) {
      if (t === 1000) server.reachable.clear()
      if (t === 2000) server.reachable.add('a')
      budget.acquire({ lane: 'foreground', deadlineMs: clock.now() + 100 }).then(
        (permit) => {
          granted++
          permit.release()
        },
        () => refused.push(clock.now()),
      )
      await clock.advance(10, settle)
      onLocalShare ||= budget.onLocalShare
    }
    const back = !budget.onLocalShare
    budget.close()
    // It did fail over to its local share and came back; not one call was refused, before, during or after.
    expect(onLocalShare).toBe(true)
    expect(back).toBe(true)
    expect(refused).toEqual([])
    expect(granted).toBe(400)
  })
})

describe("shared budget: an upstream-wide pause ('all') reaches the other instances", () => {
  /** Instances a and b of one upstream on one server; a pauses every key for 1 s. */
  function pair(options: { rate: string[]; keys: number }) {
    const clock = new FakeClock(0)
    const server = new FakeServer(clock)
    const make = (name: string) => {
      server.reachable.add(name)
      return createSharedBudget({
        name: 'api',
        rate: options.rate,
        unlimited: options.rate.length === 0,
        burst: 5,
        keys: options.keys,
        shared: { ceiling: server.ceiling(name, 2), healthy: () => true },
        now: clock.now,
        timers: clock,
      })
    }
    return { clock, server, a: make('a'), b: make('b') }
  }

  /** `count` acquires on b with a 200 ms deadline, settled on the fake clock: how many were granted. */
  async function grantsOn(budget: SharedBudget, clock: FakeClock, count: number): Promise<number> {
    let granted = 0
    const asks = Array.from({ length: count }, () =>
      budget.acquire({ lane: 'foreground', deadlineMs: clock.now() + 200 }).then(
        () => {
          granted++
        },
        (error: unknown) => {
          expect(error).toBeInstanceOf(BudgetExceededError)
        },
      ),
    )
    for (let t = 0; t < 300; t += 10) await clock.advance(10, settle)
    await Promise.all(asks)
    return granted
  }

  it('pauses every key of a pool without a rate, not only the first', async () => {
    const { clock, a, b } = pair({ rate: [], keys: 3 })
    a.pause('all', clock.now() + 1000, 'upstream said 503')
    await settle()
    // Six asks spread over the three keys: none may call during the pause.
    expect(await grantsOn(b, clock, 6)).toBe(0)
    await clock.advance(1000, settle)
    expect(await grantsOn(b, clock, 6)).toBe(6)
    a.close()
    b.close()
  })

  it('with several rates, pauses the bucket every take asks first, so no token is spent during the pause', async () => {
    const { clock, server, a, b } = pair({ rate: ['10/s', '100/h'], keys: 1 })
    a.pause('all', clock.now() + 1000, 'upstream said 429')
    await settle()
    expect(await grantsOn(b, clock, 3)).toBe(0)
    // No bucket gave a token to a take the pause then refused.
    expect([...server.granted.values()].reduce((sum, n) => sum + n, 0)).toBe(0)
    await clock.advance(1000, settle)
    expect(await grantsOn(b, clock, 1)).toBe(1)
    a.close()
    b.close()
  })
})
