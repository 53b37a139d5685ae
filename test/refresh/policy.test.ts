import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock } from '../support/fake-clock.js'
import { type RefreshHarness, startRefreshHarness } from './helpers.js'

const yaml = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    refresh: { every: 200ms, while: hot, hotWindow: 1s }
  - name: event
    path: /ftc/:season/events/:code
    ttl: 1h
    refresh:
      every: 200ms
      while: timestamp(body.dateEnd) + duration("24h") > now
`

// On a fake clock: the seconds these policies are about pass at once.
describe('refresh: while policies', () => {
  let h: RefreshHarness | undefined
  afterEach(() => h?.close())
  const start = () => startRefreshHarness(yaml, { clock: new FakeClock(Date.now()) })
  const callsTo = (part: string) => h!.sim.calls.filter((c) => c.url.includes(part)).length

  it('while: hot refreshes a key while it is read and stops once nobody reads it', async () => {
    h = await start()
    const path = `/ftc/${h.live.season}/matches/${h.live.event}`
    const upstreamPath = `/matches/${h.live.event}`
    await (await h.get(path)).text()
    expect(h.cistern.refresh.scheduler.nextRefresh(path)).toBeGreaterThan(h.gateway.context.now())
    // Read now and then for a second: it keeps being refreshed in the background.
    for (let i = 0; i < 4; i++) {
      await h.advance(250)
      await (await h.get(path)).text()
    }
    const whileRead = callsTo(upstreamPath)
    expect(whileRead).toBeGreaterThanOrEqual(4)
    // Nobody reads: once the hot window (1 s) has passed, the key leaves the schedule.
    await h.advanceUntil(() => h!.cistern.refresh.scheduler.snapshot().keys === 0, { maxMs: 3000 })
    expect(h.cistern.refresh.scheduler.nextRefresh(path)).toBeUndefined()
    const settled = callsTo(upstreamPath)
    expect(settled - whileRead).toBeLessThanOrEqual(6)
    await h.advance(600)
    expect(callsTo(upstreamPath)).toBe(settled)
    // A new read enrolls it again.
    await (await h.get(path)).text()
    expect(h.cistern.refresh.scheduler.snapshot().keys).toBe(1)
  }, 15_000)

  it('a CEL while over the stored body: a live event is kept warm, a past one is not', async () => {
    h = await start()
    const past = h.sim.events(2024)[0]!.code
    const live = h.live.event
    for (const p of [`/ftc/2024/events/${past}`, `/ftc/${h.live.season}/events/${live}`])
      await (await h.get(p)).text()
    await h.advance(1000)
    expect(callsTo(`/2024/events/${past}`)).toBe(1)
    expect(callsTo(`/${h.live.season}/events/${live}`)).toBeGreaterThanOrEqual(3)
    expect(h.cistern.refresh.scheduler.nextRefresh(`/ftc/2024/events/${past}`)).toBeUndefined()
    expect(h.cistern.refresh.scheduler.nextRefresh(`/ftc/${h.live.season}/events/${live}`)).toBeDefined()
  }, 15_000)
})
