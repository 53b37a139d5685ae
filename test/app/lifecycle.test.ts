import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign as octokitSign } from '@octokit/webhooks-methods'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCistern } from '../../src/app/cistern.js'
import { Parts } from '../../src/app/parts.js'
import { parseConfig } from '../../src/config/index.js'
import type { Closable } from '../../src/util/lifecycle.js'
import { createWebhooks, openWebhookLog } from '../../src/webhooks/index.js'
import {
  captureLogger,
  config,
  HOOKS_ENV,
  HOOKS_YAML,
  hook,
  recordingCache,
  recordingRefresher,
  TBA_SECRET,
} from '../webhooks/helpers.js'

describe('Parts', () => {
  it('closes in the reverse of the order made, each with the grace, all of them even when one fails', async () => {
    const closed: [string, number][] = []
    const part = (name: string, failure?: Error): Closable => ({
      async close(graceMs) {
        closed.push([name, graceMs])
        if (failure) throw failure
      },
    })
    const parts = new Parts()
    const first = new Error('refresh would not close')
    parts.add(part('monitor'))
    parts.add(part('gateway', new Error('gateway would not close either')))
    parts.add(part('refresh', first))
    parts.add(part('admin'))
    await expect(parts.close(250)).rejects.toBe(first)
    expect(closed).toEqual([
      ['admin', 250],
      ['refresh', 250],
      ['gateway', 250],
      ['monitor', 250],
    ])
    // Each part is closed once: a second close has nothing left to close.
    await parts.close(250)
    expect(closed).toHaveLength(4)
  })
})

describe('webhooks: start', () => {
  const cfg = config(HOOKS_YAML, HOOKS_ENV)
  const delivery = async () => {
    const payload = '{"message_type": "match_score", "message_data": {"event_key": "2024casj"}}'
    const hmac = (await octokitSign(TBA_SECRET, payload)).slice('sha256='.length)
    return [Buffer.from(payload), { 'x-tba-hmac': hmac }] as const
  }

  it('a delivery before start is stored pending and acted on once, at start', async () => {
    const cache = recordingCache()
    const webhooks = createWebhooks(cfg, {
      cache,
      refresher: recordingRefresher(),
      logger: captureLogger(),
    })
    try {
      expect(webhooks.receive(hook(cfg, 'tba'), ...(await delivery())).status).toBe(200)
      await webhooks.idle()
      await new Promise((resolve) => setImmediate(resolve))
      expect((await webhooks.events.get(1))?.outcome).toBe('pending')
      expect(cache.calls).toEqual([])

      await webhooks.start()
      await webhooks.idle()
      expect((await webhooks.events.get(1))?.outcome).toBe('acted')
      expect(cache.calls).toEqual([{ selector: { tags: ['event:2024casj'] }, soft: false }])
      // A second start resumes nothing again.
      await webhooks.start()
      await webhooks.idle()
      expect(cache.calls).toHaveLength(1)
    } finally {
      await webhooks.close()
    }
  })

  it('close(grace) lets a running action finish before the event log closes', async () => {
    let release: (() => void) | undefined
    const calls: unknown[] = []
    const cache = {
      async invalidate(selector: unknown) {
        await new Promise<void>((resolve) => {
          release = resolve
        })
        calls.push(selector)
        return 1
      },
    }
    const webhooks = createWebhooks(cfg, { cache, refresher: recordingRefresher(), logger: captureLogger() })
    await webhooks.start()
    webhooks.receive(hook(cfg, 'tba'), ...(await delivery()))
    // Bounded: the action starts on the next turns of the event loop.
    for (let turn = 0; turn < 100 && !release; turn++) await new Promise((resolve) => setImmediate(resolve))
    expect(release).toBeDefined()
    const closing = webhooks.close(5_000)
    release?.()
    await closing
    // The action finished and its outcome was stored before the log closed.
    expect(calls).toHaveLength(1)
  })
})

describe('webhooks: close', () => {
  const cfg = config(HOOKS_YAML, HOOKS_ENV)
  const delivery = async () => {
    const payload = '{"message_type": "match_score", "message_data": {"event_key": "2024casj"}}'
    const hmac = (await octokitSign(TBA_SECRET, payload)).slice('sha256='.length)
    return [Buffer.from(payload), { 'x-tba-hmac': hmac }] as const
  }

  it('leaves a given event log open: a delivery after close is stored pending, not acted on', async () => {
    const log = openWebhookLog(cfg, captureLogger())
    const cache = recordingCache()
    const webhooks = createWebhooks(cfg, {
      cache,
      refresher: recordingRefresher(),
      logger: captureLogger(),
      store: log,
    })
    try {
      await webhooks.start()
      await webhooks.close(1_000)
      const reply = webhooks.receive(hook(cfg, 'tba'), ...(await delivery()))
      expect(reply.status).toBe(200)
      await new Promise((resolve) => setImmediate(resolve))
      await webhooks.idle()
      expect(log.get((reply.body as { id: number }).id)?.outcome).toBe('pending')
      expect(cache.calls).toEqual([])
    } finally {
      log.close()
    }
  })
})

describe('startCistern: a part that fails to start', () => {
  let dir: string
  let held: Server
  let heldPort: number
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cistern-lifecycle-'))
    held = createServer()
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve))
    heldPort = (held.address() as { port: number }).port
  })
  afterAll(async () => {
    await new Promise((resolve) => held.close(resolve))
    await rm(dir, { recursive: true, force: true })
  })

  const yaml = (admin: number) => `listen: 127.0.0.1:0
admin: { listen: "127.0.0.1:${admin}", token: a-token-for-this-test }
store: { kind: sqlite, path: ${join(dir, 'cache.db')} }
upstreams:
  trig: { url: "https://x.org" }
routes:
  - { path: /trig/:id, ttl: 1h, refresh: { every: 1m } }
webhooks:
  - { name: tba, path: /hooks/tba, verify: { scheme: hmac-sha256, header: X-TBA-HMAC, secret: a-secret }, on: [{ invalidate: [x] }] }
`

  it('closes what was opened (store, refresh database, event log, gateway listener), so a restart on the same files works', async () => {
    const config = parseConfig(yaml(heldPort), join(dir, 'cistern.yaml'), {})
    const logger = pino({ level: 'silent' })
    await expect(startCistern(config, { logger })).rejects.toMatchObject({ code: 'E_LISTEN' })
    // SQLite files are opened with exclusive locking: a second open would fail had the first not closed.
    const cistern = await startCistern(parseConfig(yaml(0), join(dir, 'cistern.yaml'), {}), { logger })
    try {
      expect((await fetch(`${cistern.adminUrl}/healthz`)).status).toBeLessThan(500)
      expect((await fetch(`${cistern.url}/hooks/tba`, { method: 'POST', body: '{}' })).status).toBe(401)
    } finally {
      await cistern.close(500)
    }
    // Closed means closed: the files open again.
    const again = await startCistern(parseConfig(yaml(0), join(dir, 'cistern.yaml'), {}), { logger })
    await again.close(500)
  })
})

describe('startCistern: the caller’s own paths', () => {
  it('extraHandlers given at start are asked after webhooks and before routing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cistern-extra-'))
    const yaml = `listen: 127.0.0.1:0
store: { kind: sqlite, path: ${join(dir, 'cache.db')} }
upstreams:
  trig: { url: "https://x.org" }
routes:
  - { path: /trig/:id, ttl: 1h }
webhooks:
  - { name: tba, path: /hooks/tba, verify: { scheme: hmac-sha256, header: X-TBA-HMAC, secret: a-secret }, on: [{ invalidate: [x] }] }
`
    const asked: string[] = []
    const cistern = await startCistern(parseConfig(yaml, join(dir, 'cistern.yaml'), {}), {
      logger: pino({ level: 'silent' }),
      admin: false,
      extraHandlers: [
        (_req, res, path) => {
          asked.push(path)
          if (path !== '/_probe') return false
          res.writeHead(200, { 'content-type': 'text/plain' }).end('probe')
          return true
        },
      ],
    })
    try {
      const probe = await fetch(`${cistern.url}/_probe`)
      expect([probe.status, await probe.text()]).toEqual([200, 'probe'])
      // A webhook path is cistern's: the caller's handler never sees it.
      expect((await fetch(`${cistern.url}/hooks/tba`, { method: 'POST', body: '{}' })).status).toBe(401)
      expect((await fetch(`${cistern.url}/nowhere`)).status).toBe(404)
      expect(asked).toEqual(['/_probe', '/nowhere'])
    } finally {
      await cistern.close(500)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
