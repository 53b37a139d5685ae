import type { SimOptions, SimUpstream } from '../../examples/sim-upstream/index.js'
import type { Cistern, StartOptions } from '../../src/app/cistern.js'
import { type Harness, startHarness } from '../gateway/harness.js'
import { type FakeClock, flush } from '../support/fake-clock.js'

/** Time on a fake clock, moved by the test. */
export interface FakeTime {
  /**
   * Move the fake clock forward by `ms`: timers fire in order, and each refresh one starts is
   * answered (or waits for the budget) before the next fires.
   */
  advance(ms: number): Promise<void>
  /** Advance the fake clock `stepMs` at a time until `check` holds; fails after `maxMs` of fake time. */
  advanceUntil(
    check: () => boolean | Promise<boolean>,
    options?: { stepMs?: number; maxMs?: number },
  ): Promise<void>
}

/** The refresh harness's `advance` and `advanceUntil` need a harness started with a `clock`. */
export interface RefreshHarness extends Harness, FakeTime {
  /** The first live event of the current season. */
  live: { season: number; event: string }
}

export interface RefreshHarnessOptions {
  sim?: SimOptions
  start?: StartOptions
  env?: Record<string, string>
  /** Run cistern and the simulator on this clock (see HarnessOptions): time moves only through `advance`. */
  clock?: FakeClock
}

/**
 * The gateway harness without the admin listener, plus the simulator's first live event. In `yaml`,
 * ${SIM_URL} is the upstream and ${CISTERN_DB} the store; `env` adds more variables (receiver URLs).
 */
export async function startRefreshHarness(
  yaml: string,
  options: RefreshHarnessOptions = {},
): Promise<RefreshHarness> {
  const { clock } = options
  const h = await startHarness({
    yaml,
    ...(options.sim && { sim: options.sim }),
    ...(clock && { clock }),
    ...(options.env && { env: options.env }),
    start: () => ({ admin: false, ...options.start }),
  })
  const liveEvent = h.sim.liveEvents()[0]
  if (!liveEvent) {
    await h.close()
    throw new Error('the simulator has no live event')
  }
  const noClock = () => Promise.reject(new Error('advance() needs a harness started with a fake clock'))
  return Object.assign(h, {
    live: { season: liveEvent.season, event: liveEvent.code },
    ...(clock ? fakeTime(clock, h) : { advance: noClock, advanceUntil: noClock }),
  })
}

/**
 * Drive a cistern (started with `now: clock.now, timers: clock`) and its simulator on a fake clock.
 * `h.cistern` is read at every step, so it follows a restart.
 */
export function fakeTime(clock: FakeClock, h: { cistern: Cistern; sim: SimUpstream }): FakeTime {
  const advance = (ms: number) => clock.advance(ms, () => settle(h))
  return {
    advance,
    async advanceUntil(check, { stepMs = 50, maxMs = 10_000 } = {}) {
      for (let waited = 0; !(await check()); waited += stepMs) {
        if (waited >= maxMs) throw new Error(`condition not met within ${maxMs} ms of fake time`)
        await advance(stepMs)
      }
    },
  }
}

/**
 * Lets what a fired timer started finish, over real sockets: waits until no upstream call holds a
 * budget permit, every refresh in flight is done or waits for a permit (which only the fake clock
 * can bring), and the simulator has answered every call it received. Other work (notify
 * deliveries) is the test's to wait for.
 */
async function settle(h: { cistern: Cistern; sim: SimUpstream }): Promise<void> {
  await flush()
  // One turn of the event loop, so answers that have arrived are read.
  await new Promise((resolve) => setImmediate(resolve))
  const atRest = () => {
    let waiting = 0
    for (const upstream of h.cistern.gateway.upstreams.values()) {
      const budget = upstream.budget?.snapshot()
      if (!budget) continue
      if (budget.keys.some((key) => key.inFlight > 0)) return false
      waiting += budget.waiting.background + budget.waiting.foreground
    }
    const running = h.cistern.refresh.scheduler.snapshot().running
    return running <= waiting && h.sim.calls.every((call) => call.status !== undefined)
  }
  await until(() => (atRest() ? true : undefined), 5000, 1)
}

/** Poll `check` every `everyMs` until it returns a value, or throw after `timeoutMs`. */
export async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The newest `modifiedAt` among a matches body's items (ms). */
export function newestModified(body: { matches: { modifiedAt: string }[] }): number {
  return Math.max(0, ...body.matches.map((m) => Date.parse(m.modifiedAt)))
}

export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}
