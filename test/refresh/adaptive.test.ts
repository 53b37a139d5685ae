import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { openRefreshDb } from '../../src/refresh/db.js'
import type { JobOutcome } from '../../src/refresh/refresh-job.js'
import { ScheduleStore } from '../../src/refresh/schedule-store.js'
import { Scheduler } from '../../src/refresh/scheduler.js'
import type { ChangeEvent } from '../../src/refresh/types.js'
import { FakeClock } from '../support/fake-clock.js'

const config = parseConfig(
  `
upstreams:
  api: { url: "https://api.example/v1" }
routes:
  - { name: items, path: /items/:id, ttl: 10m, refresh: { every: adaptive, min: 10s, max: 10m } }
`,
  'cistern.yaml',
  {},
)
const items = config.routes[0]!
// Only whether a change was found matters to the scheduler.
const aChange = {} as ChangeEvent

interface Run {
  key: string
  at: number
  skipYoungerThan: number
}

function setup(changes: (key: string) => boolean, options: { store?: ScheduleStore; start?: number } = {}) {
  const clock = new FakeClock(options.start)
  const store = options.store ?? new ScheduleStore(openRefreshDb(':memory:'))
  const runs: Run[] = []
  const scheduler = new Scheduler(
    config,
    {
      schedule: store,
      capOf: () => 4,
      policyData: () => ({ body: null, params: {}, headers: {} }),
      async run(key, _route, _kept, _job, skipYoungerThan): Promise<JobOutcome> {
        runs.push({ key, at: clock.now(), skipYoungerThan })
        return { kind: 'done', change: changes(key) ? aChange : undefined }
      },
    },
    { now: clock.now, timers: clock },
  )
  scheduler.start()
  return { clock, store, runs, scheduler }
}

/** Advance `ms` of fake time, reading `keys` every `everyMs` (bounded by ms / everyMs steps). */
async function readFor(
  s: ReturnType<typeof setup>,
  keys: string[],
  ms: number,
  everyMs: number,
): Promise<void> {
  for (let t = 0; t < ms; t += everyMs) {
    for (const key of keys) s.scheduler.onRead(key, items)
    await s.clock.advance(everyMs)
  }
}

describe('refresh: every: adaptive', () => {
  const stops: Scheduler[] = []
  afterEach(async () => {
    for (const scheduler of stops.splice(0)) await scheduler.stop(100)
  })
  const started = (s: ReturnType<typeof setup>) => {
    stops.push(s.scheduler)
    return s
  }

  it('one stray read does not keep a key; a second within the hot window does, due after max', async () => {
    const s = started(setup(() => false))
    s.scheduler.onRead('/items/1', items)
    expect(s.scheduler.nextRefresh('/items/1')).toBeUndefined()
    await s.clock.advance(60_000)
    s.scheduler.onRead('/items/1', items)
    expect(s.scheduler.nextRefresh('/items/1')).toBe(s.clock.now() + 600_000)
  })

  it('a second read after the hot window starts over', async () => {
    const s = started(setup(() => false))
    s.scheduler.onRead('/items/1', items)
    await s.clock.advance(11 * 60_000)
    s.scheduler.onRead('/items/1', items)
    expect(s.scheduler.nextRefresh('/items/1')).toBeUndefined()
  })

  it('follows a key that changes at every refresh closely, and one that never changes at max', async () => {
    const s = started(setup((key) => key === '/items/busy'))
    await readFor(s, ['/items/busy', '/items/still'], 60 * 60_000, 1_000)
    const runsOf = (key: string) => s.runs.filter((run) => run.key === key).map((run) => run.at)
    const still = runsOf('/items/still')
    const busy = runsOf('/items/busy')
    expect(still.length).toBeLessThanOrEqual(6)
    expect(busy.length).toBeGreaterThan(100)
    // Changing at every refresh: the interval reaches min.
    expect(busy.at(-1)! - busy.at(-2)!).toBe(10_000)
    expect(still.at(-1)! - still.at(-2)!).toBe(600_000)
  })

  it('a kept key read less often than it is refreshed goes cold and is dropped', async () => {
    const s = started(setup(() => true))
    await readFor(s, ['/items/1'], 20 * 60_000, 1_000)
    expect(s.scheduler.nextRefresh('/items/1')).toBeDefined()
    const before = s.runs.length
    // No more reads: within a few of its (short) periods the key leaves the schedule.
    await s.clock.advance(5 * 60_000)
    expect(s.scheduler.nextRefresh('/items/1')).toBeUndefined()
    expect(s.runs.length - before).toBeLessThanOrEqual(4)
  })

  it('asks the run to skip the call when the copy is younger than the period, unless the refresh was asked for', async () => {
    const s = started(setup(() => false))
    await readFor(s, ['/items/1'], 11 * 60_000, 1_000)
    expect(s.runs.at(-1)?.skipYoungerThan).toBe(600_000)
    s.scheduler.refreshKeys(['/items/1'], () => items)
    await s.clock.advance(0)
    expect(s.runs.at(-1)?.skipYoungerThan).toBe(0)
  })

  it('keeps what a key learned in the schedule, and starts from it again', async () => {
    const s = started(setup(() => true))
    await readFor(s, ['/items/1'], 20 * 60_000, 1_000)
    await s.scheduler.stop(100)
    const row = s.store.all().find((r) => r.key === '/items/1')
    expect(row?.rate).toMatchObject({ intervalMs: expect.any(Number), refreshes: expect.any(Number) })
    const learned = (row?.rate as { intervalMs: number } | undefined)?.intervalMs ?? Number.NaN
    expect(learned).toBeLessThan(60_000)
    const again = started(setup(() => true, { store: s.store, start: s.clock.now() }))
    const due = again.scheduler.nextRefresh('/items/1')!
    await readFor(again, ['/items/1'], due - again.clock.now() + 3 * learned, 1_000)
    const [first, second] = again.runs
    expect(second!.at - first!.at).toBeLessThanOrEqual(learned * 2)
  })
})
