import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'

interface Item {
  key: string
  state: string
  status: number | null
  tags: string[]
  size: number
}
interface Page {
  items: Item[]
  cursor: string | null
}

describe('admin: entries', () => {
  let h: AdminHarness
  let teams: number[]
  let event: string
  const paths: string[] = []

  beforeAll(async () => {
    // The demo config, minus the matches route's keep-warm refresh: a scheduled refresh landing
    // between a soft DELETE and the next read would make that read a HIT.
    const demo = await readFile(new URL('../../examples/demo.yaml', import.meta.url), 'utf8')
    const keepWarm =
      '    refresh: { every: 5s, while: hot, priority: high }\n    changes: { items: body.matches, id: item.matchNumber }\n'
    if (!demo.includes(keepWarm)) throw new Error('examples/demo.yaml changed: update this test')
    h = await startAdminHarness({ yaml: demo.replace(keepWarm, '') })
    teams = h.sim.teamNumbers(2025).slice(0, 3)
    event = h.sim.events(2025)[0]!.code
    for (const team of teams) paths.push(`/ftc/2025/teams/${team}`, `/ftc/2024/teams/${team}`)
    paths.push(
      '/ftc/2025/events',
      '/ftc/2024/events',
      `/ftc/2025/matches/${event}`,
      `/ftc/2025/rankings/${event}`,
    )
    for (const path of paths) expect((await h.get(path)).status).toBe(200)
  })
  afterAll(() => h.close())

  const list = async (query: string) => json<Page>(await h.api(`/entries?${query}`))
  const allKeys = async (query = '') => {
    const keys: string[] = []
    let cursor: string | null = null
    for (let page = 0; page < 50; page++) {
      const body: Page = await list(
        `${query}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )
      expect(body.items.length).toBeLessThanOrEqual(3)
      keys.push(...body.items.map((item) => item.key))
      cursor = body.cursor
      if (cursor === null) break
    }
    return keys
  }

  it('pages through every entry once, in key order, metadata only', async () => {
    const keys = await allKeys()
    expect(keys).toEqual([...paths].sort())
    const first = (await list('limit=1')).items[0]!
    expect(first).toMatchObject({ state: 'fresh', status: 200 })
    expect(first.size).toBeGreaterThan(0)
    expect(first).not.toHaveProperty('value')
  })

  it('filters by prefix and by tag', async () => {
    expect(await allKeys('prefix=/ftc/2024/')).toEqual(paths.filter((p) => p.startsWith('/ftc/2024/')).sort())
    expect(await allKeys(`tag=event:${event}`)).toEqual([
      `/ftc/2025/matches/${event}`,
      `/ftc/2025/rankings/${event}`,
    ])
  })

  it('answers 400 with a code for a bad limit or cursor', async () => {
    for (const limit of ['0', '-1', 'abc', '1001', '2.5']) {
      const res = await h.api(`/entries?limit=${limit}`)
      expect(res.status).toBe(400)
      expect(await json(res)).toMatchObject({ error: { code: 'invalid_limit' } })
    }
    const garbage = await h.api('/entries?cursor=not-a-cursor')
    expect(garbage.status).toBe(400)
    expect(await json(garbage)).toMatchObject({ error: { code: 'invalid_cursor' } })
    const cursor = (await list('limit=1')).cursor!
    const other = await h.api(`/entries?prefix=/ftc/2024/&cursor=${encodeURIComponent(cursor)}`)
    expect(other.status).toBe(400)
    expect(await json(other)).toMatchObject({ error: { code: 'invalid_cursor' } })
  })

  it('shows one entry: metadata, stored headers, age, tags; 404 for an unknown key', async () => {
    const key = `/ftc/2025/teams/${teams[0]}`
    const res = await h.api(`/entries/${encodeURIComponent(key)}`)
    expect(res.status).toBe(200)
    const entry = await json(res)
    expect(entry).toMatchObject({
      key,
      state: 'fresh',
      status: 200,
      tags: expect.arrayContaining([`team:${teams[0]}`, 'season:2025']),
      inMemory: true,
      nextRefresh: null,
      etag: expect.any(String),
    })
    expect(entry.ageSeconds).toBeGreaterThanOrEqual(0)
    expect(entry.headers).toContainEqual(['content-type', expect.stringMatching(/json/)])
    const missing = await h.api(`/entries/${encodeURIComponent('/ftc/2025/teams/0')}`)
    expect(missing.status).toBe(404)
    expect(await json(missing)).toMatchObject({ error: { code: 'entry_not_found' } })
    const malformed = await h.api('/entries/%E0%A4%A')
    expect(malformed.status).toBe(400)
  })

  it('refuses a DELETE without exactly one non-empty selector', async () => {
    for (const query of ['', 'tag=a&prefix=/b', 'tag=', 'prefix=', 'key=x&soft=maybe']) {
      const res = await h.api(`/entries?${query}`, { method: 'DELETE' })
      expect(res.status, query).toBe(400)
    }
  })

  it('DELETE by tag removes exactly the tagged entries; soft=1 marks stale and keeps them', async () => {
    const before = await allKeys()
    const soft = await json(await h.api(`/entries?tag=event:${event}&soft=1`, { method: 'DELETE' }))
    expect(soft).toEqual({ count: 2, soft: true })
    const staleItems = (await list(`tag=event:${event}`)).items
    expect(staleItems.map((item) => item.state)).toEqual(['stale', 'stale'])
    expect((await h.get(`/ftc/2025/matches/${event}`)).headers.get('x-cache-status')).toBe('STALE')

    const hard = await json(await h.api('/entries?tag=season:2024', { method: 'DELETE' }))
    expect(hard).toEqual({ count: 4, soft: false })
    const after = await allKeys()
    expect(after).toEqual(before.filter((key) => !key.startsWith('/ftc/2024/')))
    expect((await h.get('/ftc/2024/events')).headers.get('x-cache-status')).toBe('MISS')
  })

  it('POST /refresh without a scheduler: a key refreshes in the background, a tag on its next read', async () => {
    const hooks = h.cistern.admin!.hooks
    const scheduler = hooks.refresh
    delete hooks.refresh
    onTestFinished(() => {
      if (scheduler) hooks.refresh = scheduler
    })
    const key = `/ftc/2025/teams/${teams[1]}`
    const calls = () => h.sim.stats().byPath['/v2.0/2025/teams'] ?? 0
    const before = calls()
    const res = await h.api('/refresh', { method: 'POST', body: JSON.stringify({ key }) })
    expect(res.status).toBe(202)
    expect(await json(res)).toEqual({ count: 1, mode: 'background', queued: 1 })
    for (let i = 0; i < 100 && calls() === before; i++) await new Promise((r) => setTimeout(r, 20))
    expect(calls()).toBe(before + 1)

    const byTag = await json(
      await h.api('/refresh', { method: 'POST', body: JSON.stringify({ tag: 'season:2025' }) }),
    )
    expect(byTag).toMatchObject({ mode: 'next-read', queued: 0 })
    expect(byTag.count).toBeGreaterThanOrEqual(4)
    const bad = await h.api('/refresh', { method: 'POST', body: '{nope' })
    expect(bad.status).toBe(400)
    expect(await json(bad)).toMatchObject({ error: { code: 'invalid_json' } })
  })

  it('POST /refresh hands the selection to the scheduler hook when there is one', async () => {
    const seen: unknown[] = []
    const hooks = h.cistern.admin!.hooks
    const scheduler = hooks.refresh
    onTestFinished(() => {
      if (scheduler) hooks.refresh = scheduler
      else delete hooks.refresh
    })
    hooks.refresh = async (selection) => {
      seen.push(selection)
      return { queued: 7 }
    }
    const body = await json(
      await h.api('/refresh', { method: 'POST', body: JSON.stringify({ prefix: '/ftc/2025/' }) }),
    )
    expect(body).toMatchObject({ mode: 'scheduled', queued: 7 })
    expect(seen).toEqual([{ prefix: '/ftc/2025/' }])
  })
})
