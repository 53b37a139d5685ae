import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock } from '../support/fake-clock.js'
import { type RefreshHarness, startRefreshHarness, until } from './helpers.js'
import { type Receiver, startReceiver } from './receiver.js'
import { openSse } from './sse-client.js'

const yaml = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    refresh: { every: 400ms, while: always }
    changes: { items: body.matches, id: item.matchNumber }
feed: { public: true, tokens: ["restart-feed-token"] }
notify:
  - url: \${HOOK}/std
    secret: "whsec_${Buffer.from('restart-test-secret-0123456789abcdef').toString('base64')}"
`

describe('refresh: restart', () => {
  let h: RefreshHarness | undefined
  let receiver: Receiver | undefined
  afterEach(async () => {
    await h?.close()
    await receiver?.close()
  })

  it('resumes the schedule without a client read and loses no pending change event', async () => {
    receiver = await startReceiver()
    await receiver.down()
    // The scheduler, the notifier's retries and the simulator's changes run on a fake clock.
    h = await startRefreshHarness(yaml, {
      clock: new FakeClock(Date.now()),
      env: { HOOK: receiver.url },
      sim: { changeEveryMs: 300 },
      start: {
        refresh: { notify: { baseDelayMs: 100, maxDelayMs: 300 }, scheduler: { resumeSpreadMs: 300 } },
      },
    })
    const { season, event } = h.live
    const path = `/ftc/${season}/matches/${event}`
    await (await h.get(path)).text()
    // Changes happen while the receiver is down: they wait in the outbox.
    const before: string[] = []
    h.cistern.refresh.feed.subscribe((e) => before.push(e.id))
    await h.advanceUntil(() => before.length >= 3, { maxMs: 5000 })

    await h.restart()
    expect(h.cistern.refresh.scheduler.snapshot().keys).toBe(1)
    expect(h.cistern.refresh.notifier.stats()[0]!.pending).toBeGreaterThanOrEqual(before.length)
    // The restarted scheduler refreshes the key with no client reading it.
    const matchCalls = () => h!.sim.calls.filter((c) => c.url.includes('/matches/')).length
    const initial = matchCalls()
    const after: string[] = []
    h.cistern.refresh.feed.subscribe((e) => after.push(e.id))
    await h.advanceUntil(() => matchCalls() >= initial + 2 && after.length >= 1, { maxMs: 5000 })

    // The SSE buffer survived too: resuming from the first event replays the rest, across the restart.
    const sse = await openSse(`${h.url}/_cistern/changes`, {
      authorization: 'Bearer restart-feed-token',
      'last-event-id': before[0]!,
    })
    await sse.waitFor(before.length - 1 + after.length)
    expect(sse.events.slice(0, before.length - 1).map((e) => e.id)).toEqual(before.slice(1))
    sse.close()

    // The receiver comes back: every event from before the restart arrives, in order, then the new ones.
    await receiver.up()
    // Past the longest retry delay (300 ms) every delivery is due; they go out back to back.
    await h.advance(300)
    await until(() => (receiver!.received.length >= before.length + after.length ? true : undefined), 5000)
    const delivered = receiver.received.map((r) => r.headers['webhook-id'])
    expect(delivered.slice(0, before.length)).toEqual(before)
    expect(delivered).toEqual(expect.arrayContaining(after))
  }, 20_000)
})
