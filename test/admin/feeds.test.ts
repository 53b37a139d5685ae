import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { AdminHooks, ChangeEventLike, ChangeFeedOptions } from '../../src/admin/hooks.js'
import { startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log/index.js'
import { memoryStore } from '../../src/stores/memory/index.js'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'

/** Reads an SSE response until `until` says enough (bounded by a deadline), then aborts it. */
async function readStream(response: Response, until: (text: string) => boolean, controller: AbortController) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const deadline = setTimeout(() => controller.abort(), 5_000)
  let text = ''
  try {
    while (!until(text)) {
      const { value, done } = await reader.read()
      if (done) break
      text += value
    }
  } finally {
    clearTimeout(deadline)
    controller.abort()
  }
  return text
}

describe('admin: queue, events and the change feed', () => {
  let h: AdminHarness
  let hooks: AdminHooks
  beforeAll(async () => {
    h = await startAdminHarness({ admin: { keepAliveMs: 50 } })
    hooks = h.cistern.admin!.hooks
  })
  afterAll(() => h.close())

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

  it('GET /changes without a feed is an SSE stream of keep-alive comments', async () => {
    withHooks({ changes: undefined })
    const controller = new AbortController()
    const res = await h.api('/changes', { signal: controller.signal })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const text = await readStream(res, (t) => t.includes(': keep-alive'), controller)
    expect(text).toMatch(/^: cistern change feed/)
  })

  it('GET /changes streams the hook’s events with ids, resumes with Last-Event-ID, unsubscribes on close', async () => {
    let listener: ((event: ChangeEventLike) => void) | undefined
    let options: ChangeFeedOptions | undefined
    let unsubscribed = false
    withHooks({
      changes: (l: (event: ChangeEventLike) => void, o: ChangeFeedOptions) => {
        listener = l
        options = o
        return () => {
          unsubscribed = true
        }
      },
    })
    const controller = new AbortController()
    const res = await h.api('/changes?route=m', {
      signal: controller.signal,
      headers: { 'last-event-id': '41' },
    })
    for (let i = 0; i < 100 && !listener; i++) await new Promise((r) => setTimeout(r, 10))
    expect(options).toEqual({ lastEventId: '41', route: 'm' })
    listener!({ id: '42', route: 'm', key: '/k', added: [1] })
    listener!({ id: '43', route: 'm', key: '/k', removed: [2] })
    const text = await readStream(res, (t) => t.includes('id: 43'), controller)
    expect(text).toContain(
      `id: 42\nevent: change\ndata: ${JSON.stringify({ id: '42', route: 'm', key: '/k', added: [1] })}\n\n`,
    )
    expect(text.indexOf('id: 42')).toBeLessThan(text.indexOf('id: 43'))
    for (let i = 0; i < 100 && !unsubscribed; i++) await new Promise((r) => setTimeout(r, 10))
    expect(unsubscribed).toBe(true)
  })

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
