import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import type { StoredResponse } from '../../src/gateway/response/stored-response.js'
import type { RefreshOutcome } from '../../src/gateway/server/refresh-key.js'
import type { ChangeRate } from '../../src/refresh/change-rate.js'
import { openRefreshDb } from '../../src/refresh/db.js'
import { createRefresh, type RefreshHost } from '../../src/refresh/index.js'
import type { JobOutcome } from '../../src/refresh/refresh-job.js'
import { ScheduleStore } from '../../src/refresh/schedule-store.js'
import { Scheduler } from '../../src/refresh/scheduler.js'
import type { ChangeEvent } from '../../src/refresh/types.js'
import { FakeClock } from '../support/fake-clock.js'
import { type RefreshHarness, startRefreshHarness } from './helpers.js'

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

function setup(
  changes: (key: string) => boolean,
  options: {
    store?: ScheduleStore
    start?: number
    /** The version every enrolled key was served, handed back as the refresh path does. */
    firstVersion?: { fetchedAt: number; lastModifiedAt: number }
    /** When the run found a copy a client fetched since and made no call: that copy's fetch time. */
    skippedFor?: () => number | undefined
    /** Another instance holds the key's claim: how long until it looks again, or undefined to run. */
    busy?: (key: string) => number | undefined
  } = {},
) {
  const clock = new FakeClock(options.start)
  const store = options.store ?? new ScheduleStore(openRefreshDb(':memory:'))
  const runs: Run[] = []
  const { firstVersion } = options
  const scheduler: Scheduler = new Scheduler(
    config,
    {
      schedule: store,
      ...(firstVersion && {
        enrolled: (key: string) => queueMicrotask(() => scheduler.firstVersion(key, firstVersion)),
      }),
      capOf: () => 4,
      policyData: () => ({ body: null, params: {}, headers: {} }),
      async run(key, _route, _kept, _job, skipYoungerThan): Promise<JobOutcome> {
        const retryInMs = options.busy?.(key)
        if (retryInMs !== undefined) return { kind: 'busy', retryInMs }
        runs.push({ key, at: clock.now(), skipYoungerThan })
        const fetchedAt = options.skippedFor?.()
        return {
          kind: 'done',
          change: changes(key) ? aChange : undefined,
          changed: changes(key),
          ...(fetchedAt !== undefined && { fetchedAt }),
        }
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

  it('a key another instance holds is looked at again soon, and those looks do not count as a cold spell', async () => {
    // In a cluster the instance that loses a claim finds the key busy and looks again 250 ms later,
    // several times a period. Each look is a dispatch; a read rate taken over 250 ms holds almost no
    // reads and, averaged in, halved the rate each time until a key read 30 times a period was dropped.
    let looks = 0
    const start = 1_700_000_000_000
    const s = started(
      setup(() => true, {
        start,
        // Its data changed 10 s before it was fetched: it starts at 10 s, read 25 times per interval.
        firstVersion: { fetchedAt: start, lastModifiedAt: start - 10_000 },
        busy: () => (++looks % 5 === 0 ? undefined : 250),
      }),
    )
    await readFor(s, ['/items/1'], 20 * 60_000, 400)
    // Kept all along: a refresh every 10 s plus four looks of 250 ms, about 109 in 20 minutes (48
    // when each cold-looking sample dropped it, and it came back through enrolment).
    expect(s.runs.length).toBeGreaterThan(95)
    expect(looks).toBeGreaterThan(4 * 95)
    expect(s.scheduler.nextRefresh('/items/1')).toBeDefined()
  })

  it('one stray read does not keep a key; a second within the hot window does, due after max', async () => {
    const s = started(setup(() => false))
    s.scheduler.onRead('/items/1', items)
    expect(s.scheduler.nextRefresh('/items/1')).toBeUndefined()
    await s.clock.advance(60_000)
    s.scheduler.onRead('/items/1', items)
    expect(s.scheduler.nextRefresh('/items/1')).toBe(s.clock.now() + 600_000)
  })

  it("a new key's first version sets where it starts: its data's age, one such interval from enrolment", async () => {
    const s = started(setup(() => false))
    s.scheduler.onRead('/items/1', items)
    await s.clock.advance(5_000)
    s.scheduler.onRead('/items/1', items)
    const enrolledAt = s.clock.now()
    const fetchedAt = enrolledAt - 5_000
    // Last modified 40 s before the first read's fetch: refreshed 40 s after enrolment.
    s.scheduler.firstVersion('/items/1', { fetchedAt, lastModifiedAt: fetchedAt - 40_000 })
    expect(s.scheduler.nextRefresh('/items/1')).toBe(enrolledAt + 40_000)
    // Read often enough to stay hot (HOT_READS_PER_REFRESH per interval).
    await readFor(s, ['/items/1'], 40_000, 1_000)
    expect(s.runs.map((run) => run.at)).toEqual([enrolledAt + 40_000])
    expect(s.runs[0]!.skipYoungerThan).toBe(40_000)
    // Written to the schedule, so a restart starts from it too.
    expect(s.store.all().find((row) => row.key === '/items/1')?.rate).toMatchObject({ refreshes: 1 })
  })

  it('a key dropped before its first refresh and read again is not dropped again at once', async () => {
    // Read every 5 s (too sparse for a 10 s interval, as during a ramp-up), then often. Each
    // enrolment hands back the same first version (the cache still holds it): the key must measure
    // its reads from its enrolment, not from that version's fetch, or it is dropped again and again.
    const fetchedAt = 1_700_000_000_000
    const s = started(setup(() => true, { firstVersion: { fetchedAt, lastModifiedAt: fetchedAt - 5_000 } }))
    const key = '/items/1'
    await readFor(s, [key], 60_000, 5_000)
    expect(s.runs).toEqual([])
    await readFor(s, [key], 30_000, 250)
    expect(s.runs.length).toBeGreaterThanOrEqual(2)
  })

  it('a first version without Last-Modified, or a key with history, or one asked for, keeps its due time', async () => {
    const s = started(setup(() => true))
    s.scheduler.onRead('/items/1', items)
    s.scheduler.onRead('/items/1', items)
    const now = s.clock.now()
    s.scheduler.firstVersion('/items/1', { fetchedAt: now, lastModifiedAt: undefined })
    expect(s.scheduler.nextRefresh('/items/1')).toBe(now + 600_000)
    // After a refresh the key has history: a late first version changes nothing.
    await s.clock.advance(600_000)
    const due = s.scheduler.nextRefresh('/items/1')
    s.scheduler.firstVersion('/items/1', { fetchedAt: now, lastModifiedAt: now - 20_000 })
    expect(s.scheduler.nextRefresh('/items/1')).toBe(due)
    // A key an operator asked to refresh stays due now.
    s.scheduler.refreshKeys(['/items/2'], () => items, { enroll: true })
    s.scheduler.firstVersion('/items/2', { fetchedAt: s.clock.now(), lastModifiedAt: s.clock.now() - 20_000 })
    expect(s.scheduler.nextRefresh('/items/2')).toBe(s.clock.now())
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
    await readFor(s, ['/items/busy', '/items/still'], 60 * 60_000, 400)
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
    await readFor(s, ['/items/1'], 20 * 60_000, 400)
    expect(s.scheduler.nextRefresh('/items/1')).toBeDefined()
    const before = s.runs.length
    // No more reads: within a few of its (short) periods the key leaves the schedule.
    await s.clock.advance(5 * 60_000)
    expect(s.scheduler.nextRefresh('/items/1')).toBeUndefined()
    expect(s.runs.length - before).toBeLessThanOrEqual(4)
  })

  it('keeps polling a key only while it is read about 20 times per interval (polling is then within 5% of revalidating on read)', async () => {
    // Both change at every refresh, so their interval reaches min (10 s): one is read 25 times per
    // interval, the other 10 times (kept under the old rule of 3, though revalidating it on read
    // would cost a tenth less).
    const s = started(setup(() => true))
    for (let t = 0; t < 30 * 60_000; t += 200) {
      if (t % 400 === 0) s.scheduler.onRead('/items/often', items)
      if (t % 1_000 === 0) s.scheduler.onRead('/items/sometimes', items)
      await s.clock.advance(200)
    }
    // Over the last 10 minutes: about one refresh per 10 s for the one, next to none for the other.
    const since = s.clock.now() - 10 * 60_000
    const runs = (key: string) => s.runs.filter((run) => run.key === key && run.at > since).length
    expect(runs('/items/often')).toBeGreaterThanOrEqual(50)
    expect(runs('/items/sometimes')).toBeLessThanOrEqual(5)
  })

  it('asks the run to skip the call when the copy is younger than the period, unless the refresh was asked for', async () => {
    const s = started(setup(() => false))
    await readFor(s, ['/items/1'], 11 * 60_000, 1_000)
    expect(s.runs.at(-1)?.skipYoungerThan).toBe(600_000)
    s.scheduler.refreshKeys(['/items/1'], () => items)
    await s.clock.advance(0)
    expect(s.runs.at(-1)?.skipYoungerThan).toBe(0)
  })

  it("learns from a refresh that made no call, as of the client's fetch it compared", async () => {
    let skippedFor: number | undefined
    const s = started(setup(() => false, { skippedFor: () => skippedFor }))
    await readFor(s, ['/items/1'], 20 * 60_000, 1_000)
    const rateOf = () => s.store.all().find((r) => r.key === '/items/1')?.rate as ChangeRate | undefined
    const before = rateOf()!
    const due = s.scheduler.nextRefresh('/items/1')!
    skippedFor = due - 1_000
    await readFor(s, ['/items/1'], due - s.clock.now(), 1_000)
    expect(s.runs.at(-1)?.at).toBe(due)
    // The client's copy was compared with the last version seen: a finding like any other (dropping
    // it would lose a change it found, as the next call compares with that copy).
    expect(rateOf()!.refreshes).toBeGreaterThan(before.refreshes)
    // The next call is due a period after the client's fetch.
    expect(s.scheduler.nextRefresh('/items/1')).toBe(skippedFor + 600_000)
  })

  it('keeps what a key learned in the schedule, and starts from it again', async () => {
    const s = started(setup(() => true))
    await readFor(s, ['/items/1'], 20 * 60_000, 400)
    await s.scheduler.stop(100)
    const row = s.store.all().find((r) => r.key === '/items/1')
    expect(row?.rate).toMatchObject({ intervalMs: expect.any(Number), refreshes: expect.any(Number) })
    const learned = (row?.rate as { intervalMs: number } | undefined)?.intervalMs ?? Number.NaN
    expect(learned).toBeLessThan(60_000)
    const again = started(setup(() => true, { store: s.store, start: s.clock.now() }))
    const due = again.scheduler.nextRefresh('/items/1')!
    await readFor(again, ['/items/1'], due - again.clock.now() + 3 * learned, 400)
    const [first, second] = again.runs
    expect(second!.at - first!.at).toBeLessThanOrEqual(learned * 2)
  })
})

describe('refresh: every: adaptive, through the gateway', () => {
  let h: RefreshHarness | undefined
  afterEach(() => h?.close())

  it("a new key starts from its first version's Last-Modified age", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 5, 12))
    h = await startRefreshHarness(
      `
store: { kind: memory }
upstreams:
  sim: { url: "\${SIM_ROOT}" }
routes:
  - { name: items, path: /items/:id, to: /catalogue/items/:id, ttl: 10m, refresh: { every: adaptive, min: 10s, max: 10m } }
`,
      {
        // Every item changes about every minute: version 0 was last modified about a minute before the start.
        sim: { catalogue: { items: 20, classes: [{ name: 'fast', share: 1, everyMs: 60_000 }], seed: 4 } },
        clock,
      },
    )
    const fetchedAt = clock.now()
    const ages: number[] = []
    for (let id = 0; id < 20; id++) {
      const first = await h.get(`/items/${id}`)
      ages.push(fetchedAt - Date.parse(first.headers.get('last-modified')!))
      await (await h.get(`/items/${id}`)).arrayBuffer()
    }
    await h.advance(0)
    const { scheduler } = h.cistern.refresh
    for (let id = 0; id < 20; id++) {
      expect(scheduler.nextRefresh(`/items/${id}`)).toBe(
        fetchedAt + Math.min(600_000, Math.max(10_000, ages[id]!)),
      )
    }
    // Ages of about a minute: most keys start well under max.
    expect(ages.filter((age) => age < 600_000).length).toBeGreaterThan(15)
  })
})

describe('refresh: every: adaptive, with upstream latency', () => {
  const LATENCY_MS = 300
  const closes: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const close of closes.splice(0)) await close()
  })

  /**
   * The refresh path on a fake clock over a host whose upstream takes LATENCY_MS to answer (the
   * clock moves on during each call, as it would) and whose data never changes.
   */
  function withLatency(options: { stored?: boolean; lastModifiedAgeMs?: number } = {}) {
    const clock = new FakeClock()
    // The clock the refresh path reads: the fake clock plus the time spent in upstream calls.
    let spent = 0
    const now = () => clock.now() + spent
    const key = '/items/1'
    const headers: Record<string, string> =
      options.lastModifiedAgeMs === undefined
        ? {}
        : { 'last-modified': new Date(now() - options.lastModifiedAgeMs).toUTCString() }
    let copy = { digest: 'v1', fetchedAt: now(), body: Buffer.from('{"id":1}'), headers, tags: [] }
    const calls: number[] = []
    const host: RefreshHost = {
      async refreshKey() {
        calls.push(now())
        spent += LATENCY_MS
        // An answer not stored leaves the cache's copy as it was.
        const stored = options.stored ?? true
        if (stored) copy = { ...copy, fetchedAt: now() }
        const value = { body: copy.body, headers: [] } as unknown as StoredResponse
        const entry = { digest: copy.digest, fetchedAt: now(), tags: [] }
        return { kind: 'refreshed', result: { stored, value, entry } } as unknown as RefreshOutcome
      },
      peek: async () => copy,
      invalidateTags: async () => 0,
      locate: () => ({ route: items, params: { id: '1' } }),
      keyOfPath: () => key,
      listKeys: async () => [],
    }
    const refresh = createRefresh(config, host, { now, timers: clock, dbPath: ':memory:' })
    closes.push(() => refresh.close(100))
    /** A client fetch of the key now (a miss or revalidation the refresh path did not make). */
    const clientFetch = () => {
      copy = { ...copy, fetchedAt: now() }
    }
    return { clock, now, key, calls, refresh, clientFetch }
  }

  it('calls the upstream once per interval, start to start, at every dispatch', async () => {
    const s = withLatency()
    await s.refresh.start()
    // Read once a second for an hour: the key stays hot; it never changes, so its interval is max.
    for (let t = 0; t < 60 * 60_000; t += 1_000) {
      s.refresh.onRead(s.key, items)
      await s.clock.advance(1_000)
    }
    expect(s.calls.length).toBeGreaterThanOrEqual(5)
    // Start to start, as the scheduler counts: the copy its own last call made is not a client's
    // fetch to skip for (it was stamped when the answer came, LATENCY_MS after the call started).
    const gaps = s.calls.slice(1).map((at, i) => at - s.calls[i]!)
    expect(new Set(gaps)).toEqual(new Set([600_000]))
    // Every dispatch made a call: none was skipped (and taken as "unchanged after LATENCY_MS").
    const lanes = Object.values(s.refresh.scheduler.snapshot().byPriority)
    expect(lanes.reduce((n, lane) => n + lane.refreshed, 0)).toBe(s.calls.length)
  })

  it('skips the call when a client fetched the key since', async () => {
    const s = withLatency()
    await s.refresh.start()
    for (let t = 0; t < 20 * 60_000; t += 1_000) {
      s.refresh.onRead(s.key, items)
      await s.clock.advance(1_000)
    }
    const calls = s.calls.length
    expect(calls).toBeGreaterThanOrEqual(1)
    const due = s.refresh.scheduler.nextRefresh(s.key)!
    await s.clock.advance(due - s.now() - 60_000)
    s.clientFetch()
    const clientAt = s.now()
    await s.clock.advance(60_000)
    // The copy is a minute old at the due time: no call, and the next is due a period after it.
    expect(s.calls.length).toBe(calls)
    expect(s.refresh.scheduler.nextRefresh(s.key)).toBe(clientAt + 600_000)
  })

  it('learns nothing from a refresh whose answer was not stored (nothing to compare)', async () => {
    // Its data was 20 s old when first fetched: the key starts at a 20 s interval, and no answer
    // it gets says whether the data changed, so it stays there.
    const s = withLatency({ stored: false, lastModifiedAgeMs: 20_000 })
    await s.refresh.start()
    // Read 80 times per interval: well above what keeps the key hot.
    for (let t = 0; t < 10 * 60_000; t += 250) {
      s.refresh.onRead(s.key, items)
      await s.clock.advance(250)
    }
    expect(s.calls.length).toBeGreaterThanOrEqual(20)
    const gaps = s.calls.slice(1).map((at, i) => at - s.calls[i]!)
    expect(new Set(gaps)).toEqual(new Set([20_000]))
  })
})
