import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { openRefreshDb } from '../../src/refresh/db.js'
import type { ChangeEvent } from '../../src/refresh/index.js'
import { Notifier } from '../../src/refresh/notify/notifier.js'
import { OutboxStore } from '../../src/refresh/notify/outbox-store.js'
import { FakeClock } from '../support/fake-clock.js'
import { type RefreshHarness, startRefreshHarness, until } from './helpers.js'
import { type Receiver, startReceiver } from './receiver.js'

const secret = `whsec_${Buffer.from('cistern-notify-test-secret-32-bytes!').toString('base64')}`
const yaml = (slackRoutes: string) => `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    refresh: { every: 1h }
    changes: { items: body.matches, id: item.matchNumber }
  - name: other
    path: /other/:season/events
    to: /:season/events
    ttl: 1h
notify:
  - url: \${HOOK}/std
    secret: "${secret}"
  - url: \${HOOK}/discord
    kind: discord
    template: "{route} {params.event}: {changed} changed, {added} added"
  - url: \${HOOK}/slack
    kind: slack
    routes: [${slackRoutes}]
`

describe('refresh: notify targets', () => {
  let h: RefreshHarness | undefined
  let receiver: Receiver | undefined
  afterEach(async () => {
    await h?.close()
    await receiver?.close()
  })

  async function changeOnce(path: string): Promise<void> {
    const published = h!.cistern.refresh.feed.published
    h!.sim.tick()
    await h!.cistern.refresh.refreshPath(path)
    await until(() => (h!.cistern.refresh.feed.published > published ? true : undefined))
  }

  it('signs per Standard Webhooks, renders chat messages, and retries from the outbox until the receiver accepts', async () => {
    receiver = await startReceiver()
    // Retry delays run on a fake clock: the test moves past them instead of waiting.
    h = await startRefreshHarness(yaml('matches'), {
      clock: new FakeClock(Date.now()),
      env: { HOOK: receiver.url },
      start: { refresh: { notify: { baseDelayMs: 100, maxDelayMs: 400 } } },
    })
    const ids: string[] = []
    h.cistern.refresh.feed.subscribe((e) => ids.push(e.id))
    const { season, event } = h.live
    const path = `/ftc/${season}/matches/${event}`
    await (await h.get(path)).text()
    await until(() => (h!.cistern.refresh.scheduler.snapshot().keys === 1 ? true : undefined))

    // The receiver refuses for a while: events wait in the outbox, the refresh loop carries on.
    receiver.status = 503
    for (let i = 0; i < 3; i++) await changeOnce(path)
    // A target's lastError is set once the refusal has come back to the notifier.
    const refusedAll = () => h!.cistern.refresh.notifier.stats().every((t) => t.lastError === 'HTTP 503')
    await until(() => (refusedAll() ? true : undefined))
    const pending = h.cistern.refresh.notifier.stats()
    expect(pending.map((t) => t.pending)).toEqual([3, 3, 3])
    expect(pending[0]!.lastError).toBe('HTTP 503')
    receiver.status = 200
    // Past the longest retry delay (400 ms) every delivery is due; they go out back to back.
    await h.advance(400)
    await until(() => (receiver!.received.length === 9 ? true : undefined), 5000)

    const standard = receiver.received.filter((r) => r.path === '/std')
    expect(standard.map((r) => r.headers['webhook-id'])).toEqual(ids)
    const verifier = new Webhook(secret)
    for (const r of standard) {
      const payload = verifier.verify(r.body, r.headers as Record<string, string>) as {
        type: string
        data: { id: string }
      }
      expect(payload.type).toBe('cistern.change')
      expect(payload.data.id).toBe(r.headers['webhook-id'])
    }
    // A tampered body does not verify.
    expect(() =>
      verifier.verify(
        standard[0]!.body.replace('matches', 'matchez'),
        standard[0]!.headers as Record<string, string>,
      ),
    ).toThrow()

    const discord = receiver.received.filter((r) => r.path === '/discord').map((r) => JSON.parse(r.body))
    expect(discord).toHaveLength(3)
    expect(discord[0].content).toMatch(new RegExp(`^matches ${event}: [0-9, ]* changed, [0-9, ]* added$`))
    expect(discord[0].allowed_mentions).toEqual({ parse: [] })
    const slack = receiver.received.filter((r) => r.path === '/slack').map((r) => JSON.parse(r.body))
    expect(slack[0].text).toContain(`matches changed: ${h.url}${path}`)
    // The receiver records a delivery before its 200 reaches the notifier, which then clears the outbox.
    const drained = () => h!.cistern.refresh.notifier.stats().every((t) => t.pending === 0)
    await until(() => (drained() ? true : undefined), 5000)
    expect(h.cistern.refresh.notifier.stats().map((t) => t.pending)).toEqual([0, 0, 0])
  }, 20_000)

  it('a target only hears the routes it names', async () => {
    receiver = await startReceiver()
    h = await startRefreshHarness(yaml('other'), { env: { HOOK: receiver.url } })
    const path = `/ftc/${h.live.season}/matches/${h.live.event}`
    await (await h.get(path)).text()
    await until(() => (h!.cistern.refresh.scheduler.snapshot().keys === 1 ? true : undefined))
    await changeOnce(path)
    await until(() => (receiver!.received.length === 2 ? true : undefined))
    expect(receiver.received.map((r) => r.path).sort()).toEqual(['/discord', '/std'])
  }, 15_000)
})

describe('refresh: notify retries', () => {
  it('wait on the clock the notifier is given: the retry goes out once that clock has passed its delay', async () => {
    const receiver = await startReceiver()
    const clock = new FakeClock(Date.now())
    const db = openRefreshDb(':memory:')
    const config = parseConfig(
      `notify:\n  - { url: "${receiver.url}/hook", kind: slack }\n`,
      'cistern.yaml',
      {},
    )
    const notifier = new Notifier(config.notify, new OutboxStore(db, 10), {
      now: clock.now,
      timers: clock,
      baseDelayMs: 1000,
      maxDelayMs: 1000,
    })
    try {
      receiver.status = 503
      notifier.start()
      const event: ChangeEvent = {
        id: 'evt_1',
        route: 'matches',
        key: '/k',
        url: 'http://cistern.test/k',
        at: clock.now(),
        previousFetchedAt: clock.now() - 1000,
        digest: 'b',
        previousDigest: 'a',
        added: [1],
        removed: [],
        changed: [],
        patch: null,
        tags: [],
      }
      notifier.enqueue(event, { params: {}, body: null })
      notifier.kick()
      await until(() => (notifier.stats()[0]!.failedAttempts === 1 ? true : undefined))
      // The worker sleeps on the fake clock until the retry is due (500-1000 ms with jitter).
      expect(clock.pending).toBe(1)
      receiver.status = 200
      await clock.advance(1000)
      await until(() => (receiver.received.length === 1 ? true : undefined))
      await until(() => (notifier.stats()[0]!.pending === 0 ? true : undefined))
      expect(notifier.stats()[0]).toMatchObject({ delivered: 1, failedAttempts: 1 })
    } finally {
      await notifier.close()
      db.close()
      await receiver.close()
    }
  })
})

describe('refresh: notify secrets', () => {
  it('a standard-webhooks secret that is not base64 is refused at start, naming the target', async () => {
    const bad = `
store: { kind: memory }
notify:
  - url: http://127.0.0.1:9/hook
    secret: "not base64!"
`
    await expect(startRefreshHarness(bad)).rejects.toThrow(
      /notify http:\/\/127.0.0.1:9\/hook: secret must be/,
    )
  })
})
