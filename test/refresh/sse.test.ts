import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/refresh/types.js'
import { type RefreshHarness, startRefreshHarness, until } from './helpers.js'
import { openSse, type SseClient } from './sse-client.js'

const routes = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    tags: ["event:{event}"]
    refresh: { every: 1h }
    changes: { items: body.matches, id: item.matchNumber }
  - name: scores
    path: /ftc/:season/scores/:event
    ttl: 1h
    refresh: { every: 1h }
`
const TOKEN = 'feed-token-for-tests-1'
const OTHER = 'feed-token-for-tests-2'
const publicFeed = (extra = '') =>
  `${routes}feed: { public: true, tokens: ["${TOKEN}", "${OTHER}"]${extra} }\n`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('refresh: the change feed on the public port', () => {
  let h: RefreshHarness | undefined
  const clients: SseClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await h?.close()
    h = undefined
  })
  const open = async (path: string, headers: Record<string, string> = bearer(TOKEN)) => {
    const client = await openSse(`${h!.url}${path}`, headers)
    clients.push(client)
    return client
  }

  /** One upstream tick, then refresh each key now, one after the other (so the order is known). */
  async function change(paths: string[]): Promise<void> {
    h!.sim.tick()
    for (const path of paths) {
      const published = h!.cistern.refresh.feed.published
      expect(await h!.cistern.refresh.refreshPath(path)).toEqual({ queued: 1 })
      await until(() => (h!.cistern.refresh.feed.published > published ? true : undefined))
    }
  }

  /** Reads enroll the keys and capture the version they were served as the baseline. */
  async function enroll(paths: string[]): Promise<void> {
    for (const p of paths) expect((await h!.get(p)).status).toBe(200)
    await until(() => (h!.cistern.refresh.scheduler.snapshot().keys === paths.length ? true : undefined))
  }

  it('is not there without feed.public: 404 JSON for every method and every token, and no data', async () => {
    h = await startRefreshHarness(routes)
    const { season, event } = h.live
    await enroll([`/ftc/${season}/matches/${event}`])
    await change([`/ftc/${season}/matches/${event}`])
    for (const init of [{}, { method: 'POST' }, { headers: bearer(TOKEN) }]) {
      const res = await fetch(`${h.url}/_cistern/changes`, init)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual({
        error: { code: 'route_not_found', message: 'no route matches /_cistern/changes' },
      })
    }
    // A resume attempt learns nothing either.
    const res = await fetch(`${h.url}/_cistern/changes?lastEventId=x`, { headers: { 'last-event-id': 'x' } })
    expect(res.status).toBe(404)
    expect(await res.text()).not.toContain('evt_')
    expect(h.cistern.refresh.streamStats().public.open).toBe(0)
  })

  it('with feed.public, needs one of feed.tokens: 401 JSON without or with a wrong one, never the admin token', async () => {
    h = await startRefreshHarness(publicFeed(), { start: { admin: { token: 'the-admin-token', env: {} } } })
    for (const headers of [
      {},
      bearer('wrong'),
      bearer(`${TOKEN}x`),
      bearer('the-admin-token'),
      { authorization: TOKEN },
    ]) {
      const res = await fetch(`${h.url}/_cistern/changes`, { headers })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="cistern-feed"')
      expect(await res.json()).toEqual({
        error: {
          code: 'unauthorized',
          message: 'missing or wrong feed token (Authorization: Bearer <token>)',
        },
      })
    }
    // A feed token is not an admin token either.
    const admin = await fetch(`${h.cistern.adminUrl}/changes`, { headers: bearer(TOKEN) })
    expect(admin.status).toBe(401)
    await admin.body?.cancel()
    for (const token of [TOKEN, OTHER]) {
      const stream = await open('/_cistern/changes', bearer(token))
      expect(stream.status).toBe(200)
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
    }
    const post = await fetch(`${h.url}/_cistern/changes`, { method: 'POST', headers: bearer(TOKEN) })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET')
    expect(await post.json()).toEqual({
      error: { code: 'method_not_allowed', message: 'POST is not allowed here' },
    })
  })

  it('delivers every change in order, filters by route and tag, and resumes after a known id without a gap', async () => {
    h = await startRefreshHarness(publicFeed())
    const { season, event } = h.live
    const matches = `/ftc/${season}/matches/${event}`
    const scores = `/ftc/${season}/scores/${event}`
    await enroll([matches, scores])

    const all = await open('/_cistern/changes')
    const byTag = await open(`/_cistern/changes?tag=event:${event}`)
    const byRoute = await open('/_cistern/changes?route=scores')
    expect(all.status).toBe(200)
    for (let i = 0; i < 3; i++) await change([matches, scores])
    await all.waitFor(6)
    expect(all.events.map((e) => e.data.route)).toEqual([
      'matches',
      'scores',
      'matches',
      'scores',
      'matches',
      'scores',
    ])
    expect(all.events.map((e) => e.id)).toEqual(all.events.map((e) => e.data.id))
    await byTag.waitFor(3)
    expect(byTag.events.every((e) => e.data.route === 'matches')).toBe(true)
    await byRoute.waitFor(3)
    expect(byRoute.events.every((e) => e.data.route === 'scores')).toBe(true)
    const first = all.events[0]!.data
    expect(first).toMatchObject({ key: matches, url: h.url + matches, tags: [`event:${event}`] })
    expect((first.changed as unknown[]).length + (first.added as unknown[]).length).toBeGreaterThan(0)

    // Drop the connection after the second event; changes go on; reconnect with Last-Event-ID.
    const resumeFrom = all.events[1]!.id
    all.close()
    for (let i = 0; i < 2; i++) await change([matches, scores])
    const resumed = await open('/_cistern/changes', { ...bearer(TOKEN), 'last-event-id': resumeFrom })
    await resumed.waitFor(8)
    await change([matches])
    await resumed.waitFor(9)
    const ids = resumed.events.map((e) => e.id)
    expect(ids.slice(0, 4)).toEqual(all.events.slice(2).map((e) => e.id))
    expect(new Set(ids).size).toBe(ids.length)
    expect(resumed.all.some((e) => e.type === 'reset')).toBe(false)
    const feed = h.cistern.refresh.feed.stats()
    expect(feed.published).toBe(11)
    expect(feed.buffered).toBe(11)
    expect(ids.at(-1)).toBe(feed.lastEventId)
  }, 20_000)

  it('answers an unknown or malformed Last-Event-ID with a reset event and the stream from now, not a replay', async () => {
    h = await startRefreshHarness(publicFeed())
    const { season, event } = h.live
    const matches = `/ftc/${season}/matches/${event}`
    await enroll([matches])
    for (let i = 0; i < 3; i++) await change([matches])
    const newest = h.cistern.refresh.feed.stats().lastEventId!

    for (const bogus of ['bogus', 'evt_'.padEnd(400, 'x')]) {
      const stream = await open('/_cistern/changes', { ...bearer(TOKEN), 'last-event-id': bogus })
      await stream.waitForText((t) => t.includes('event: reset'))
      expect(stream.all).toEqual([
        { type: 'reset', id: newest, data: { reason: 'unknown-last-event-id', lastEventId: newest } },
      ])
      expect(stream.text).not.toContain('bogus')
    }
    // ?lastEventId= does the same; afterwards the stream is live: the next change arrives, alone.
    const stream = await open('/_cistern/changes?lastEventId=nope')
    await stream.waitForText((t) => t.includes('event: reset'))
    await change([matches])
    await stream.waitFor(1)
    expect(stream.all.map((e) => e.type)).toEqual(['reset', 'change'])
    expect(stream.events[0]!.id).toBe(h.cistern.refresh.feed.stats().lastEventId)
  }, 20_000)

  it('masks secret query parameters in the keys and URLs it streams', async () => {
    h = await startRefreshHarness(publicFeed())
    const { season, event } = h.live
    const path = `/ftc/${season}/matches/${event}?session=s3ss10n-value&token=t0ken-value&page=1`
    await enroll([path])
    const stream = await open('/_cistern/changes')
    await change([path])
    await stream.waitFor(1)
    const masked = `/ftc/${season}/matches/${event}?page=1&session=[REDACTED]&token=[REDACTED]`
    expect(stream.events[0]!.data).toMatchObject({ key: masked, url: h.url + masked })
    expect(stream.text).not.toMatch(/s3ss10n-value|t0ken-value/)
  }, 20_000)

  it('caps open streams (503 JSON with Retry-After) and sends a heartbeat comment', async () => {
    h = await startRefreshHarness(publicFeed(', maxConnections: 2, heartbeat: 50ms'))
    const first = await open('/_cistern/changes')
    const second = await open('/_cistern/changes')
    expect([first.status, second.status]).toEqual([200, 200])
    const refused = await fetch(`${h.url}/_cistern/changes`, { headers: bearer(TOKEN) })
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('10')
    expect(await refused.json()).toMatchObject({ error: { code: 'too_many_streams' } })
    expect(h.cistern.refresh.streamStats().public).toMatchObject({ open: 2, refused: 1 })

    await first.waitForText((t) => t.split(': ping').length > 3, 2000)
    // A closed stream frees its place.
    first.close()
    await until(() => (h!.cistern.refresh.streamStats().public.open === 1 ? true : undefined))
    expect((await open('/_cistern/changes')).status).toBe(200)
  })

  /** A raw client that sends the request and then never reads. */
  async function stalledClient() {
    const url = new URL(h!.url)
    const socket = connect(Number(url.port), url.hostname)
    socket.pause()
    socket.write(`GET /_cistern/changes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    await until(() => (h!.cistern.refresh.streamStats().public.open === 1 ? true : undefined))
    return socket
  }
  const bigEvent = (i: number, bytes: number) =>
    ({
      id: `evt_big${i}`,
      route: 'matches',
      tags: [],
      patch: [{ op: 'add', path: '/x', value: 'x'.repeat(bytes) }],
    }) as Partial<ChangeEvent> as ChangeEvent

  it('drops a client that stops reading once it is maxBuffered behind', async () => {
    h = await startRefreshHarness(publicFeed(', maxBuffered: 64KB'))
    const socket = await stalledClient()
    const feed = h.cistern.refresh.feed
    // The kernel's buffers fill first, then cistern's, then it must let go.
    for (let i = 0; i < 400 && h.cistern.refresh.streamStats().public.dropped === 0; i++) {
      feed.publish(bigEvent(i, 256 * 1024))
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(h.cistern.refresh.streamStats().public).toMatchObject({ dropped: 1 })
    await until(() => (h!.cistern.refresh.streamStats().public.open === 0 ? true : undefined))
    expect(feed.subscribers).toBe(0)
    socket.destroy()
  }, 20_000)

  it('drops a client whose socket has not drained for two heartbeats, well before maxBuffered', async () => {
    h = await startRefreshHarness(publicFeed(', heartbeat: 50ms, maxBuffered: 64MB'))
    const socket = await stalledClient()
    const feed = h.cistern.refresh.feed
    let sent = 0
    for (let i = 0; i < 400 && h.cistern.refresh.streamStats().public.dropped === 0; i++) {
      feed.publish(bigEvent(i, 64 * 1024))
      sent += 64 * 1024
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(h.cistern.refresh.streamStats().public).toMatchObject({ dropped: 1 })
    expect(sent).toBeLessThan(64 * 1024 * 1024)
    await until(() => (h!.cistern.refresh.streamStats().public.open === 0 ? true : undefined))
    socket.destroy()
  }, 20_000)
})
