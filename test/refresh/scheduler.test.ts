import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import type { RouteConfig } from '../../src/config/types.js'
import { openRefreshDb } from '../../src/refresh/db.js'
import { newJob } from '../../src/refresh/jobs.js'
import { UpstreamQueue } from '../../src/refresh/queue.js'
import type { JobOutcome } from '../../src/refresh/refresh-job.js'
import { ScheduleStore } from '../../src/refresh/schedule-store.js'
import { Scheduler, type SchedulerDeps } from '../../src/refresh/scheduler.js'
import { FakeClock } from '../support/fake-clock.js'

const config = parseConfig(
  `
upstreams:
  api: { url: "https://api.example/v1" }
routes:
${['critical', 'high', 'normal', 'low']
  .map((p) => `  - { name: ${p}, path: /${p}/:id, ttl: 1m, refresh: { every: 10s, priority: ${p} } }`)
  .join('\n')}
  - { name: plain, path: /plain/:id, ttl: 1m }
`,
  'cistern.yaml',
  {},
)
const route = (name: string) => config.routes.find((r) => r.name === name)!
const locate = (key: string) => route(key.split('/')[1]!)
const T = 1_000_000 // a multiple of the overdue grain

interface Fake {
  scheduler: Scheduler
  store: ScheduleStore
  ran: string[]
  /** Refreshes of each key running right now, and the most ever at once. */
  maxAtOnce: number
  release: () => void
}

function fake(
  options: { now?: number; clock?: FakeClock; cap?: number; hold?: boolean; random?: () => number } = {},
): Fake {
  const db = openRefreshDb(':memory:')
  const store = new ScheduleStore(db)
  const running = new Map<string, number>()
  const waiting: (() => void)[] = []
  const f: Fake = {
    scheduler: undefined as unknown as Scheduler,
    store,
    ran: [],
    maxAtOnce: 0,
    release: () => {
      for (const resolve of waiting.splice(0)) resolve()
    },
  }
  const deps: SchedulerDeps = {
    schedule: store,
    capOf: () => options.cap ?? 1,
    policyData: () => ({ body: null, params: {}, headers: {} }),
    async run(key): Promise<JobOutcome> {
      f.ran.push(key)
      running.set(key, (running.get(key) ?? 0) + 1)
      f.maxAtOnce = Math.max(f.maxAtOnce, running.get(key)!)
      if (options.hold) await new Promise<void>((resolve) => waiting.push(resolve))
      running.set(key, running.get(key)! - 1)
      return { kind: 'done', change: undefined, changed: false }
    },
  }
  const now = options.now
  f.scheduler = new Scheduler(config, deps, {
    ...(now !== undefined && { now: () => now }),
    ...(options.clock && { now: options.clock.now, timers: options.clock }),
    ...(options.random && { random: options.random }),
  })
  return f
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('refresh: the scheduler', () => {
  const started: Scheduler[] = []
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop(100)
  })

  it('orders due keys by priority, then how overdue, then popularity', () => {
    const queue = new UpstreamQueue('api', 1)
    const job = (name: string, id: string, dueAt: number, reads: number) => {
      const j = newJob(`/${name}/${id}`, route(name), route(name).refresh!.priority, 10_000, dueAt, 0)
      j.reads = reads
      queue.push(j)
    }
    job('low', 'very-overdue', T - 60_000, 0)
    job('normal', 'popular', T - 1000, 50)
    job('normal', 'quiet', T - 1000, 1)
    job('normal', 'older', T - 5000, 0)
    job('critical', 'just-due', T, 0)
    job('high', 'not-yet', T + 1, 100)
    const order: string[] = []
    for (let j = queue.popDue(T); j; j = queue.popDue(T)) order.push(j.key)
    expect(order).toEqual([
      '/critical/just-due',
      '/normal/older',
      '/normal/popular',
      '/normal/quiet',
      '/low/very-overdue',
    ])
    expect(queue.nextDueAt()).toBe(T + 1)
  })

  it('dispatches by priority and popularity, one refresh at a time when the cap is 1', async () => {
    const f = fake({ now: T })
    started.push(f.scheduler)
    for (const [key, reads] of [
      ['/low/x', 1],
      ['/normal/a', 1],
      ['/normal/b', 5],
      ['/critical/y', 1],
    ] as const) {
      for (let i = 0; i < reads; i++) f.scheduler.onRead(key, locate(key))
    }
    expect(
      f.scheduler.refreshKeys(['/low/x', '/normal/a', '/normal/b', '/critical/y', '/plain/1'], locate),
    ).toBe(5)
    f.scheduler.start()
    for (let i = 0; i < 20 && f.ran.length < 5; i++) await tick()
    expect(f.ran).toEqual(['/critical/y', '/normal/b', '/normal/a', '/plain/1', '/low/x'])
    // Kept keys are due again one period after they started; the one-shot key is gone.
    expect(f.scheduler.nextRefresh('/critical/y')).toBe(T + 10_000)
    expect(f.scheduler.nextRefresh('/plain/1')).toBeUndefined()
    expect(f.scheduler.snapshot().byPriority.critical).toMatchObject({ scheduled: 1, refreshed: 1, due: 0 })
  })

  it('wakes on the clock it is given: a kept key is refreshed once its period has passed on it, not before', async () => {
    const clock = new FakeClock(T)
    const f = fake({ clock })
    started.push(f.scheduler)
    f.scheduler.onRead('/normal/a', locate('/normal/a'))
    f.scheduler.start()
    await clock.advance(9_999)
    expect(f.ran).toEqual([])
    await clock.advance(1)
    expect(f.ran).toEqual(['/normal/a'])
    expect(f.scheduler.nextRefresh('/normal/a')).toBe(T + 20_000)
    await clock.advance(10_000)
    expect(f.ran).toEqual(['/normal/a', '/normal/a'])
  })

  it('never runs two refreshes of one key at once: a request during a refresh runs once after it', async () => {
    const f = fake({ hold: true, cap: 8 })
    started.push(f.scheduler)
    f.scheduler.start()
    f.scheduler.refreshKeys(['/plain/1'], locate)
    await tick()
    for (let i = 0; i < 5; i++) f.scheduler.refreshKeys(['/plain/1'], locate)
    await tick()
    expect(f.ran).toEqual(['/plain/1'])
    f.release()
    for (let i = 0; i < 20 && f.ran.length < 2; i++) await tick()
    f.release()
    await tick()
    expect(f.ran).toEqual(['/plain/1', '/plain/1'])
    expect(f.maxAtOnce).toBe(1)
  })

  it('resumes a durable schedule: overdue keys spread over min(every, resumeSpreadMs), others keep their time, stale rows go', () => {
    const f = fake({ now: T })
    for (let i = 0; i < 200; i++) {
      f.store.upsert({ key: `/normal/${i}`, route: 'normal', dueAt: T - 30_000 + i, lastReadAt: T, reads: 3 })
    }
    f.store.upsert({ key: '/high/later', route: 'high', dueAt: T + 4000, lastReadAt: T, reads: 1 })
    f.store.upsert({ key: '/gone/1', route: 'no-such-route', dueAt: T, lastReadAt: T, reads: 1 })
    f.scheduler.start()
    started.push(f.scheduler)
    const due = Array.from({ length: 200 }, (_, i) => f.scheduler.nextRefresh(`/normal/${i}`)!)
    expect(Math.min(...due)).toBeGreaterThanOrEqual(T)
    expect(Math.max(...due)).toBeLessThan(T + 10_000)
    // Spread, not a herd: no 1-second slice holds more than a fifth of them.
    const slices = new Map<number, number>()
    for (const d of due)
      slices.set(Math.floor((d - T) / 1000), (slices.get(Math.floor((d - T) / 1000)) ?? 0) + 1)
    expect(Math.max(...slices.values())).toBeLessThan(40)
    expect(f.scheduler.nextRefresh('/high/later')).toBe(T + 4000)
    expect(f.store.all().map((r) => r.key)).not.toContain('/gone/1')
    expect(f.scheduler.snapshot().keys).toBe(201)
  })

  it('does not enroll keys bound to client credentials, nor routes without a policy', () => {
    const f = fake({ now: T })
    f.scheduler.onRead('/normal/1#auth=abc', locate('/normal/1'))
    f.scheduler.onRead('/plain/1', route('plain') as RouteConfig)
    expect(f.scheduler.snapshot().keys).toBe(0)
    expect(f.scheduler.refreshKeys(['/normal/2#auth=abc'], locate)).toBe(0)
  })
})
