import { readFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { AdminHooks } from '../../src/admin/hooks.js'
import { startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log/index.js'
import { memoryStore } from '../../src/stores/memory/index.js'
import { until } from '../refresh/helpers.js'
import { openSse, type SseClient } from '../refresh/sse-client.js'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'

// The demo config with a short heartbeat and a small cap, so both show within a test.
const YAML = `${readFileSync(new URL('../../examples/demo.yaml', import.meta.url), 'utf8')}
feed: { heartbeat: 50ms, maxConnections: 2 }
`

describe('admin: queue, events and the change feed', () => {
  let h: AdminHarness
  let hooks: AdminHooks
  beforeAll(async () => {
    h = await startAdminHarness({ yaml: YAML })
    hooks = h.cistern.admin!.hooks
  })
  afterAll(() => h.close())
  const clients: SseClient[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close()
    // The cap is small: the next test starts once the server has seen these streams close.
    await until(() => (h.cistern.refresh.streamStats().admin.open === 0 ? true : undefined))
  })
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const client = await openSse(h.admin + path, { authorization: `Bearer ${h.token}`, ...headers })
    clients.push(client)
    return client
  }
  const matches = () => {
    const live = h.sim.liveEvents()[0]!
    return `/ftc/${live.season}/matches/${live.code}`
  }
  /** One upstream tick and a refresh of `path` now, until the feed has published its change. */
  async function change(path = matches()): Promise<void> {
    const feed = h.cistern.refresh.feed
    if (h.cistern.refresh.scheduler.snapshot().keys === 0) await (await h.get(path)).text()
    await until(() => (h.cistern.refresh.scheduler.snapshot().keys > 0 ? true : undefined))
    const published = feed.published
    h.sim.tick()
    await h.cistern.refresh.refreshPath(path)
    await until(() => (feed.published > published ? true : undefined))
  }

  /** Replace hooks for one test, then put back what startCistern wired. */
  const withHooks = (replacement: Partial<Record<keyof AdminHooks, unknown>>) => {
    const saved = { ...hooks }
    for (const [name, value] of Object.entries(replacement)) {
      if (value === undefined) delete hooks[name as keyof AdminHooks]
      else Object.assign(hooks, { [name]: value })
    }
    onTestFinished(() => {
      for (const name of Object.keys(hooks)) delete hooks[name as keyof AdminHooks]
      Object.assign(hooks, saved)
    })
  }

  it('GET /queue and GET /events answer well-formed empties without their hooks', async () => {
    withHooks({ queue: undefined, events: undefined })
    expect(await json(await h.api('/queue'))).toEqual({
      available: false,
      items: [],
      priorities: {},
      whileErrors: [],
    })
    expect(await json(await h.api('/events'))).toEqual({ available: false, events: [], cursor: null })
  })

  it('GET /queue and GET /events show what the hooks give', async () => {
    const item = { key: '/ftc/2025/matches/X', route: 'm', priority: 'high', dueAt: 1 }
    const queries: unknown[] = []
    withHooks({
      queue: () => ({ items: [item], priorities: { high: { depth: 1, lagMs: 250 } } }),
      events: async (query: unknown) => {
        queries.push(query)
        return { events: [{ id: 'e1' }], cursor: 'next' }
      },
    })
    expect(await json(await h.api('/queue'))).toEqual({
      available: true,
      items: [item],
      priorities: { high: { depth: 1, lagMs: 250 } },
      whileErrors: [],
    })
    expect(await json(await h.api('/events?limit=5&cursor=abc'))).toEqual({
      available: true,
      events: [{ id: 'e1' }],
      cursor: 'next',
    })
    expect(queries).toEqual([{ limit: 5, cursor: 'abc' }])
    expect((await h.api('/events?limit=0')).status).toBe(400)
  })

  it('GET /changes needs the admin token, and answers 503 JSON without a feed attached', async () => {
    const refused = await h.api('/changes', { token: null })
    expect(refused.status).toBe(401)
    expect(await json(refused)).toMatchObject({ error: { code: 'unauthorized' } })
    withHooks({ changes: undefined })
    const res = await h.api('/changes')
    expect(res.status).toBe(503)
    expect(await json(res)).toMatchObject({ error: { code: 'feed_unavailable' } })
  })

  it('GET /changes streams the feed with a heartbeat, replays after a known id, resets an unknown one', async () => {
    const live = await open('/changes')
    expect(live.status).toBe(200)
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/)
    await live.waitForText((t) => t.includes(': ping'), 2000)
    await change()
    await change()
    await live.waitFor(2)
    const [first, second] = live.events
    expect(first!.data).toMatchObject({ route: '/ftc/:season/matches/:event', key: matches() })

    const resumed = await open('/changes', { 'last-event-id': first!.id })
    await resumed.waitFor(1)
    expect(resumed.events.map((e) => e.id)).toEqual([second!.id])
    resumed.close()
    await until(() => (h.cistern.refresh.streamStats().admin.open === 1 ? true : undefined))
    const reset = await open('/changes', { 'last-event-id': 'bogus' })
    await reset.waitForText((t) => t.includes('event: reset'))
    expect(reset.all).toEqual([
      { type: 'reset', id: second!.id, data: { reason: 'unknown-last-event-id', lastEventId: second!.id } },
    ])
    // The public port does not serve it: feed.public is not set.
    expect((await fetch(`${h.url}/_cistern/changes`)).status).toBe(404)
  }, 20_000)

  it('GET /changes has its own cap: one stream over feed.maxConnections is 503 with Retry-After', async () => {
    const streams = [await open('/changes'), await open('/changes')]
    expect(streams.map((s) => s.status)).toEqual([200, 200])
    const refused = await h.api('/changes')
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('10')
    expect(await json(refused)).toMatchObject({ error: { code: 'too_many_streams' } })
  })

  it('masks secret query parameters in the call logs, the change feed and the logs', async () => {
    const stream = await open('/changes')
    const secretPath = `${matches()}?session=s3ss10n-v4lue&api_key=k3y-v4lue&page=1`
    expect((await h.get(secretPath)).status).toBe(200)
    await change(secretPath)
    await stream.waitFor(1)
    const masked = `${matches()}?api_key=[REDACTED]&page=1&session=[REDACTED]`
    expect(stream.events[0]!.data).toMatchObject({ key: masked })
    const upstreams = await h.api('/upstreams?calls=200')
    const text = await upstreams.text()
    expect(text).toContain('session=[REDACTED]')
    const seen = [stream.text, text, JSON.stringify(await json(await h.api('/stats'))), h.logs.join('')]
    for (const shown of seen) expect(shown).not.toMatch(/s3ss10n-v4lue|k3y-v4lue/)
  }, 20_000)

  it('GET /healthz and /readyz report the process and the store', async () => {
    expect(await json(await h.api('/healthz'))).toMatchObject({ ok: true })
    expect(await json(await h.api('/readyz'))).toMatchObject({
      ok: true,
      config: { ok: true },
      store: { kind: 'sqlite', ok: true },
    })
  })
})

describe('admin: /readyz when the store does not answer', () => {
  it('answers 503 with the reason within the store timeout', async () => {
    const store = memoryStore()
    // The store's counters never answer: /readyz must give up after store.timeout, not hang.
    const stuck = new Proxy(store, {
      get(target, name) {
        if (name === 'stats') return () => new Promise(() => {})
        const value: unknown = Reflect.get(target, name, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const yaml =
      'listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nstore: { kind: memory, timeout: 100ms }\n'
    const cistern = await startCistern(parseConfig(yaml, '/tmp/cistern.yaml', {}), {
      store: stuck,
      logger: createLogger({ level: 'silent' }),
      admin: { token: 't0ken-for-readyz', env: {} },
    })
    try {
      const started = Date.now()
      const res = await fetch(`${cistern.adminUrl}/readyz`, {
        headers: { authorization: 'Bearer t0ken-for-readyz' },
      })
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({
        ok: false,
        config: { ok: true },
        store: { kind: 'memory', ok: false, error: expect.stringMatching(/100ms/) },
      })
      expect(Date.now() - started).toBeLessThan(2_000)
    } finally {
      await cistern.close(100)
    }
  })
})
