import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { start, type TrigpointingExample } from '../../examples/trigpointing/run.js'

/** Recipe 3 (examples/trigpointing): the team's Redis layer's promises, kept by cistern over real HTTP. */
describe('recipe: TrigpointingUK', () => {
  let example: TrigpointingExample
  let dir: string
  let now = Date.now()
  const token = 'tuk-admin-test-token'
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(example.cistern.url + path, { headers })
  const status = (res: Response) => res.headers.get('x-cache-status')
  const admin = (path: string, method = 'GET') =>
    fetch(example.cistern.adminUrl + path, { method, headers: { authorization: `Bearer ${token}` } })
  const write = (method: string, path: string, body: unknown, user = 'tuk-alice-token') =>
    fetch(example.cistern.url + path, {
      method,
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cistern-tuk-'))
    example = await start({
      env: {
        CISTERN_LISTEN: '127.0.0.1:0',
        CISTERN_ADMIN_LISTEN: '127.0.0.1:0',
        CISTERN_DB: join(dir, 'cache.db'),
        CISTERN_ADMIN_TOKEN: token,
      },
      now: () => now,
      logLevel: 'silent',
    })
  })
  afterAll(async () => {
    await example?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('caches reads with X-Cache-Status, Cache-Status (with the key) and Age', async () => {
    const first = await get('/v1/trigs/1')
    expect([first.status, status(first)]).toEqual([200, 'MISS'])
    now += 45_000
    const again = await get('/v1/trigs/1')
    expect(status(again)).toBe('HIT')
    expect(again.headers.get('cache-status')).toMatch(/^cistern; hit; ttl=\d+; key="\/v1\/trigs\/1"/)
    expect(again.headers.get('age')).toBe('45')
    expect(example.api.count('GET /v1/trigs/1')).toBe(1)
  })

  it('Cache-Control: no-cache bypasses the cache (BYPASS) and asks the API', async () => {
    const calls = example.api.count('GET /v1/trigs/1')
    const res = await get('/v1/trigs/1', { 'cache-control': 'no-cache' })
    expect(status(res)).toBe('BYPASS')
    expect(example.api.count('GET /v1/trigs/1')).toBe(calls + 1)
  })

  it('a log created through cistern invalidates trig:{id}, user:{id}, the lists and the stats, nothing else', async () => {
    for (const path of [
      '/v1/trigs/1',
      '/v1/trigs/2',
      '/v1/users/1',
      '/v1/users/2',
      '/v1/stats/site',
      '/v1/logs',
      '/v1/trigs',
    ])
      await get(path)
    const before = (await (await get('/v1/trigs/1')).json()) as { log_count: number }
    for (const path of ['/v1/users/1', '/v1/stats/site', '/v1/logs'])
      expect(status(await get(path))).toBe('HIT')

    const created = await write('POST', '/v1/trigs/1/logs', { text: 'Found it', score: 9 })
    expect([created.status, status(created)]).toEqual([201, 'PASS'])
    const log = (await created.json()) as { id: number; user_id: number }
    expect(log.user_id).toBe(1)

    const trig = await get('/v1/trigs/1')
    expect(status(trig)).toBe('MISS')
    expect(((await trig.json()) as { log_count: number }).log_count).toBe(before.log_count + 1)
    for (const path of ['/v1/users/1', '/v1/stats/site', '/v1/logs', '/v1/trigs'])
      expect(status(await get(path))).toBe('MISS')
    for (const path of ['/v1/trigs/2', '/v1/users/2']) expect(status(await get(path))).toBe('HIT')

    // Editing and deleting the log: the API's answer names its trig and user, so both are cleared.
    for (const path of ['/v1/trigs/1', '/v1/users/1', `/v1/logs/${log.id}`]) await get(path)
    expect(status(await write('PATCH', `/v1/logs/${log.id}`, { text: 'Found it, twice' }))).toBe('PASS')
    expect(status(await get(`/v1/logs/${log.id}`))).toBe('MISS')
    await get('/v1/trigs/1')
    expect((await write('DELETE', `/v1/logs/${log.id}`, {})).status).toBe(200)
    for (const path of ['/v1/trigs/1', '/v1/users/1']) expect(status(await get(path))).toBe('MISS')
    expect((await get(`/v1/logs/${log.id}`)).status).toBe(404)
  })

  it('a refused write (FastAPI 401 / 403 / 422) is relayed as is and invalidates nothing', async () => {
    await get('/v1/trigs/3')
    const anonymous = await fetch(`${example.cistern.url}/v1/trigs/3/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"x"}',
    })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    expect(await anonymous.json()).toEqual({ detail: 'Not authenticated' })
    const noScope = await write('POST', '/v1/trigs/3/logs', { text: 'x' }, 'tuk-reader-token')
    expect(noScope.status).toBe(403)
    const invalid = await write('POST', '/v1/trigs/3/logs', { score: 3 })
    expect(invalid.status).toBe(422)
    expect(await invalid.json()).toMatchObject({ detail: [{ loc: ['body', 'text'] }] })
    expect(status(await get('/v1/trigs/3'))).toBe('HIT')
  })

  it('never stores an error answer other than 404 / 410 (a 422 is asked again)', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await get('/v1/trigs/not-a-number')
      expect([res.status, status(res)]).toEqual([422, 'MISS'])
    }
    expect(example.api.count('GET /v1/trigs/not-a-number')).toBe(2)
  })

  it('404s do not hide newly created items', async () => {
    // Registered through cistern: the write clears user:{body.id} at once.
    const nextUser = Math.max(...example.api.users.keys()) + 1
    expect((await get(`/v1/users/${nextUser}`)).status).toBe(404)
    const cached404 = await get(`/v1/users/${nextUser}`)
    expect([cached404.status, status(cached404)]).toEqual([404, 'HIT'])
    expect(await cached404.json()).toEqual({ detail: 'User not found' })
    const registered = await write('POST', '/v1/users', { name: 'carol' })
    expect(((await registered.json()) as { id: number }).id).toBe(nextUser)
    const found = await get(`/v1/users/${nextUser}`)
    expect([found.status, status(found)]).toEqual([200, 'MISS'])

    // Created by the old PHP site, straight into the database: the 404 lasts negativeTtl (30s), not 24h.
    const nextTrig = Math.max(...example.api.trigs.keys()) + 1
    await get(`/v1/trigs/${nextTrig}`)
    example.api.legacyCreateTrig('Brand New Pillar')
    now += 20_000
    expect((await get(`/v1/trigs/${nextTrig}`)).status).toBe(404)
    now += 11_000
    const trig = await get(`/v1/trigs/${nextTrig}`)
    expect([trig.status, status(trig)]).toEqual([200, 'MISS'])
  })

  it('admin: stats, flush by prefix, by tag and everything (the old /v1/admin/cache endpoints)', async () => {
    expect((await fetch(`${example.cistern.adminUrl}/stats`)).status).toBe(401)
    // The old endpoint's keyspace_hits / misses / hit_rate_percent / total_keys, per route as well.
    const stats = (await (await admin('/stats')).json()) as {
      totals: { hits: number; misses: number; hitRate: number }
      routes: Record<string, { hits: number }>
      store: { entries: number }
    }
    expect(stats.totals.hits).toBeGreaterThan(5)
    expect(stats.totals.misses).toBeGreaterThan(5)
    expect(stats.totals.hitRate).toBeGreaterThan(0)
    expect(stats.routes['/v1/trigs/:id']!.hits).toBeGreaterThan(0)
    expect(stats.store.entries).toBeGreaterThan(0)

    for (const path of ['/v1/trigs/4', '/v1/trigs/5', '/v1/users/2', '/v1/stats/site']) await get(path)
    const byPrefix = (await (await admin('/entries?prefix=/v1/trigs/', 'DELETE')).json()) as { count: number }
    expect(byPrefix.count).toBeGreaterThanOrEqual(2)
    expect(status(await get('/v1/trigs/4'))).toBe('MISS')
    expect(status(await get('/v1/users/2'))).toBe('HIT')

    const byTag = (await (await admin('/entries?tag=stats', 'DELETE')).json()) as { count: number }
    expect(byTag.count).toBe(1)
    expect(status(await get('/v1/stats/site'))).toBe('MISS')

    await admin('/entries?prefix=/', 'DELETE')
    expect(status(await get('/v1/users/2'))).toBe('MISS')
  })
})
