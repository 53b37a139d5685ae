import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { entryView } from '../../src/admin/client/views.js'
import type { EntryBody } from '../../src/admin/routes/entries.js'
import { type AdminHarness, json, startAdminHarness } from '../admin/helpers.js'
import { FakeClock } from '../support/fake-clock.js'
import { type FakeTime, fakeTime } from './helpers.js'

/**
 * An FTC Events-shaped upstream: `/2025/events` answers `{ events: [...] }` with dates the way FTC
 * writes them, without a zone (`2025-03-01T00:00:00`), which CEL's timestamp() refuses.
 */
async function ftcEvents(): Promise<{ url: string; calls: string[]; close: () => Promise<void> }> {
  const calls: string[] = []
  const server: Server = createServer((req, res) => {
    calls.push(req.url ?? '')
    const dateEnd = req.url?.includes('/2020/') ? '2020-03-01T00:00:00' : '2999-03-01T00:00:00'
    const body = JSON.stringify({ events: [{ code: 'USCASD', dateEnd }], eventCount: 1 })
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** Only in the datetime() test, so the other tests load on a config without it. */
const datetimeRoute = `
  - name: events-datetime
    path: /b/:season/events
    to: /:season/events?route=b
    ttl: 1h
    refresh:
      every: 150ms
      while: body.events.exists(e, datetime(e.dateEnd) + duration("24h") > now)
`

const yaml = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${FTC_URL}" }
routes:
  - name: events-timestamp
    path: /a/:season/events
    to: /:season/events?route=a
    ttl: 1h
    refresh:
      every: 150ms
      while: timestamp(body.events[0].dateEnd) + duration("24h") > now
  - name: prewarmed
    path: /c/:season/events
    to: /:season/events?route=c
    ttl: 1h
    refresh: { every: 150ms, while: always }
    prewarm: [/c/2025/events]
  - name: by-hand
    path: /d/:season/events
    to: /:season/events?route=d
    ttl: 1h
    refresh: { every: 150ms, while: always }
`

// On a fake clock: the schedule's 150 ms periods pass at once.
describe('refresh traps: a while that cannot be evaluated, prewarm and refresh --key', () => {
  let h: AdminHarness | undefined
  let upstream: Awaited<ReturnType<typeof ftcEvents>> | undefined
  afterEach(async () => {
    await h?.close()
    await upstream?.close()
  })
  const start = async (extraRoutes = ''): Promise<{ h: AdminHarness; time: FakeTime }> => {
    upstream = await ftcEvents()
    const clock = new FakeClock(Date.now())
    h = await startAdminHarness({
      yaml: yaml + extraRoutes,
      env: { FTC_URL: upstream.url },
      logLevel: 'info',
      clock,
    })
    return { h, time: fakeTime(clock, h) }
  }
  const callsTo = (path: string) => upstream!.calls.filter((url) => url === path).length

  it('keeps a key whose while cannot be evaluated, warns once, and shows why in /queue and inspect', async () => {
    const { h, time } = await start()
    const key = '/a/2025/events'
    expect((await h.get(key)).status).toBe(200)
    // Refreshed every 150 ms although timestamp() cannot read the zone-less date (it used to be
    // dropped silently at the first check, after one fetch).
    await time.advanceUntil(() => callsTo('/2025/events?route=a') >= 4, { maxMs: 5000 })
    expect(h.cistern.refresh.scheduler.nextRefresh(key)).toBeDefined()

    const warnings = h.logs
      .map((line) => JSON.parse(line) as { level: string; msg: string; key?: string; error?: string })
      .filter((line) => line.msg.startsWith('refresh.while could not be evaluated'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ level: 'warn', key, route: 'events-timestamp' })
    expect(warnings[0]!.error).toMatch(/timestamp\(\)/)

    const queue = await json<{ whileErrors: { key: string; route: string; error: string }[] }>(
      await h.api('/queue'),
    )
    expect(queue.whileErrors).toEqual([
      expect.objectContaining({
        key,
        route: 'events-timestamp',
        error: expect.stringMatching(/timestamp\(\)/),
      }),
    ])
    const entry = await json<EntryBody>(await h.api(`/entries/${encodeURIComponent(key)}`))
    expect(entry.whileError).toMatch(/timestamp\(\)/)
    expect(entryView(entry)).toMatch(/while error: .*timestamp\(\).*\(kept scheduled\)/)
  }, 20_000)

  it('datetime() reads zone-less dates: a live event is kept warm, a past one leaves the schedule', async () => {
    const { h, time } = await start(datetimeRoute)
    await h.get('/b/2025/events')
    await h.get('/b/2020/events')
    await time.advanceUntil(() => callsTo('/2025/events?route=b') >= 3, { maxMs: 5000 })
    expect(h.cistern.refresh.scheduler.nextRefresh('/b/2025/events')).toBeDefined()
    await time.advanceUntil(() => h.cistern.refresh.scheduler.nextRefresh('/b/2020/events') === undefined)
    expect(callsTo('/2020/events?route=b')).toBe(1)
    expect((await json<{ whileErrors: unknown[] }>(await h.api('/queue'))).whileErrors).toEqual([])
  }, 20_000)

  it('a prewarmed key is kept warm from start, before any client reads it', async () => {
    const { h, time } = await start()
    expect(h.cistern.refresh.scheduler.nextRefresh('/c/2025/events')).toBeDefined()
    // No client request at all: the prewarm fetch, then the schedule's refreshes.
    await time.advanceUntil(() => callsTo('/2025/events?route=c') >= 3, { maxMs: 5000 })
  }, 20_000)

  it('cistern refresh --key (POST /refresh {key}) enrolls the key of a route with refresh', async () => {
    const { h, time } = await start()
    const key = '/d/2025/events'
    const answer = await h.api('/refresh', { method: 'POST', body: JSON.stringify({ key }) })
    expect(answer.status).toBe(202)
    await time.advanceUntil(() => callsTo('/2025/events?route=d') >= 3, { maxMs: 5000 })
    await time.advance(200)
    expect(h.cistern.refresh.scheduler.nextRefresh(key)).toBeDefined()
  }, 20_000)
})
