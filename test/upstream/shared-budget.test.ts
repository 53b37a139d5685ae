import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisCeiling } from '../../src/stores/redis/ceiling.js'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { RedisHeartbeat } from '../../src/stores/redis/heartbeat.js'
import {
  BudgetExceededError,
  createSharedBudget,
  type SharedBudget,
} from '../../src/upstream/budget/index.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'
import { ceilingViolation } from './ceiling.js'

const bin = findService('redis-server')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const RATE = { count: 20, perMs: 1000 }
const BURST = 5
/**
 * Grant times are seen in this process a round trip after the server granted them, so a window
 * measured here may hold one more than the server's: one permit of slack, never more.
 */
const CEILING = [{ ...RATE, burst: BURST + 1 }]

interface Run {
  grants: number[]
  /** How long past its deadline the latest acquire settled (ms); <= 0 means none was late. */
  late: number
  refused: number
  other: unknown[]
}

/**
 * Bounded load: every `everyMs` each budget is asked for a foreground permit with a 1 s deadline,
 * held 5 ms, for `forMs`. `during` runs alongside (a freeze, a kill).
 */
async function drive(
  budgets: SharedBudget[],
  forMs: number,
  during?: () => Promise<void>,
  everyMs = 5,
): Promise<Run> {
  const run: Run = { grants: [], late: Number.NEGATIVE_INFINITY, refused: 0, other: [] }
  const pending: Promise<void>[] = []
  const started = Date.now()
  const side = during?.()
  while (Date.now() - started < forMs) {
    for (const budget of budgets) {
      const deadlineMs = budget.now() + 1000
      const asked = Date.now()
      pending.push(
        budget.acquire({ lane: 'foreground', deadlineMs }).then(
          (permit) => {
            run.grants.push(Date.now())
            run.late = Math.max(run.late, Date.now() - (asked + 1000))
            setTimeout(() => permit.release(), 5)
          },
          (error: unknown) => {
            run.late = Math.max(run.late, Date.now() - (asked + 1000))
            if (error instanceof BudgetExceededError) run.refused++
            else run.other.push(error)
          },
        ),
      )
    }
    await sleep(everyMs)
  }
  await side
  await Promise.all(pending)
  return run
}

describe.skipIf(!bin)('shared budget on one Redis', () => {
  let redis: ServiceHandle
  let cleanup: Array<() => Promise<void> | void> = []

  beforeAll(async () => {
    redis = await startRedis(bin!)
  })
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step()
    cleanup = []
  })
  afterAll(async () => {
    await redis?.stop()
  })

  /** `count` budgets for one upstream, each on its own connection and heartbeat, as separate instances are. */
  async function instances(
    count: number,
    options: { namespace: string; clocks?: (i: number) => () => number; server?: ServiceHandle },
  ): Promise<SharedBudget[]> {
    const server = options.server ?? redis
    const budgets: SharedBudget[] = []
    const beats: RedisHeartbeat[] = []
    for (let i = 0; i < count; i++) {
      const connection = new RedisConnection({
        url: server.url,
        namespace: options.namespace,
        timeoutMs: 300,
      })
      await connection.ready()
      const heartbeat = new RedisHeartbeat(connection, `instance-${i}`)
      beats.push(heartbeat)
      await heartbeat.start()
      const budget = createSharedBudget({
        name: 'api',
        rate: `${RATE.count}/s`,
        burst: BURST,
        reserve: 0,
        shared: {
          ceiling: createRedisCeiling(connection, `instance-${i}`, heartbeat),
          healthy: () => connection.healthy(),
        },
        probeMs: 300,
        ...(options.clocks && { now: options.clocks(i) }),
      })
      budgets.push(budget)
      cleanup.push(async () => {
        budget.close()
        await heartbeat.close()
        await connection.close()
      })
    }
    // Every instance has seen all the others beat.
    for (const beat of beats) await beat.beat()
    return budgets
  }

  it('three budgets never grant over rate × W + burst together, and use the ceiling', async () => {
    const budgets = await instances(3, { namespace: 'steady' })
    const run = await drive(budgets, 3000)
    expect(run.other).toEqual([])
    expect(ceilingViolation(run.grants, CEILING)).toBeUndefined()
    // ~3 s at 20/s plus the burst: the instances share the whole ceiling rather than starve.
    expect(run.grants.length).toBeGreaterThanOrEqual(50)
    expect(run.late).toBeLessThanOrEqual(100)
  })

  it('a pause made by one instance holds on the others (server clock)', async () => {
    const [a, b] = await instances(2, { namespace: 'pause' })
    const first = await b!.acquire({ lane: 'foreground', deadlineMs: b!.now() + 1000 })
    first.release()
    a!.pause('all', a!.now() + 600, 'answered 429')
    await sleep(50)
    // b learns of it from the server: a deadline inside the pause is refused as 'paused'...
    await expect(b!.acquire({ lane: 'foreground', deadlineMs: b!.now() + 200 })).rejects.toMatchObject({
      reason: 'paused',
    })
    // ...and a longer one is granted only once the pause is over.
    const asked = Date.now()
    const later = await b!.acquire({ lane: 'foreground', deadlineMs: b!.now() + 2000 })
    later.release()
    expect(Date.now() - asked).toBeGreaterThanOrEqual(450)
  })

  it('a clock several seconds off in one instance changes nothing: every time is the server’s', async () => {
    const offsets = [0, 5000, -5000]
    const budgets = await instances(3, { namespace: 'clocks', clocks: (i) => () => Date.now() + offsets[i]! })
    const run = await drive(budgets, 2500)
    expect(run.other).toEqual([])
    expect(ceilingViolation(run.grants, CEILING)).toBeUndefined()
    expect(run.grants.length).toBeGreaterThanOrEqual(40)
    expect(run.late).toBeLessThanOrEqual(100)
  })

  for (const outage of ['frozen', 'killed and restarted'] as const) {
    it(`fails closed to the local share when Redis is ${outage}, and recovers without a burst`, async () => {
      const own = await startRedis(bin!)
      cleanup.push(() => own.stop())
      const budgets = await instances(3, { namespace: 'outage', server: own })
      let localSeen = false
      const run = await drive(budgets, 5000, async () => {
        await sleep(1200)
        if (outage === 'frozen') own.freeze()
        else await own.kill()
        await sleep(1500)
        localSeen = budgets.every((budget) => budget.onLocalShare)
        if (outage === 'frozen') own.thaw()
        else await own.restart()
      })
      expect(localSeen).toBe(true)
      expect(budgets.map((budget) => budget.onLocalShare)).toEqual([false, false, false])
      expect(run.other).toEqual([])
      // Never open: the shares add up to the ceiling; and no burst when the server answers again.
      expect(ceilingViolation(run.grants, CEILING)).toBeUndefined()
      // No waiter is kept past its deadline by an unanswered server (a command times out after 300 ms).
      expect(run.late).toBeLessThanOrEqual(100)
      // It kept serving during the outage (fail closed is a share, not a stop).
      const outageGrants = run.grants.filter((t) => t - run.grants[0]! > 1600 && t - run.grants[0]! < 2600)
      expect(outageGrants.length).toBeGreaterThan(5)
    })
  }
})
