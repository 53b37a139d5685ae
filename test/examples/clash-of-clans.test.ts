import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClashExample, KEYS, start } from '../../examples/clash-of-clans/run.js'
import { tagOf } from '../../examples/clash-of-clans/upstream.js'
import { until } from '../refresh/helpers.js'

/** Recipe 5 (examples/clash-of-clans): database-first, over real HTTP, on the recipe's own cistern.yaml. */
describe('recipe: Clash of Clans database-first', () => {
  let example: ClashExample
  let dir: string
  const get = (path: string) => fetch(example.cistern.url + path)
  const status = (res: Response) => res.headers.get('x-cache-status')
  const enc = encodeURIComponent
  const verify = (tag: string, token: string) =>
    fetch(`${example.cistern.url}/coc/players/${enc(tag)}/verifytoken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    })

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cistern-coc-'))
    example = await start({
      env: {
        CISTERN_LISTEN: '127.0.0.1:0',
        CISTERN_ADMIN_LISTEN: '127.0.0.1:0',
        CISTERN_DB: join(dir, 'cache.db'),
        // The same config with short intervals, so the test runs in seconds.
        COC_WAR_EVERY: '500ms',
        COC_CLAN_EVERY: '1s',
        COC_PLAYER_EVERY: '1s',
        COC_LEAGUE_EVERY: '2s',
        COC_BREAKER_COOLDOWN: '500ms',
      },
      logLevel: 'silent',
    })
  })
  afterAll(async () => {
    await example?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('passes # in tags on encoded: /coc/players/%232PP calls /v1/players/%232PP', async () => {
    const tag = tagOf(31)
    const res = await get(`/coc/players/${enc(tag)}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { tag: string }).tag).toBe(tag)
    expect(example.api.calls.at(-1)!.url).toBe(`/v1/players/${enc(tag)}`)
    const missing = await get(`/coc/players/${enc('#PPPPPP')}`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ reason: 'notFound' })
  })

  it('spreads calls over both API keys and keeps each under 30 calls a second', async () => {
    // 90 token checks (pass-through, so nothing joins the refresh schedule) in one burst.
    const tags = Array.from({ length: 90 }, (_, i) => tagOf(100 + i))
    const from = example.api.calls.length
    const started = Date.now()
    const answers = await Promise.all(tags.map((tag) => verify(tag, example.api.gameTokens.get(tag)!)))
    const elapsed = Date.now() - started
    expect(answers.map((r) => r.status)).toEqual(tags.map(() => 200))
    const calls = example.api.calls.slice(from).filter((c) => c.method === 'POST')
    expect(calls).toHaveLength(90)
    expect(calls.filter((c) => c.status === 429)).toEqual([])
    const byKey = new Map<string, number[]>()
    for (const call of calls) byKey.set(call.key, [...(byKey.get(call.key) ?? []), call.at])
    expect([...byKey.keys()].sort()).toEqual([...KEYS].sort())
    for (const key of KEYS) {
      const arrivals = byKey.get(key)!
      expect(arrivals.length).toBeGreaterThanOrEqual(25)
      // The budget spaces each key's calls 1/30 s apart. Measured over the whole burst at the API
      // (where one late arrival on a busy machine can land in the next second), that is 30/s.
      const spanMs = Math.max(...arrivals) - Math.min(...arrivals)
      expect((arrivals.length - 1) / (spanMs / 1000)).toBeLessThanOrEqual(31)
    }
    // 90 calls at 2 × 30/s cannot take less than about 1.5 s (no upper bound: a busy machine is slower).
    expect(elapsed).toBeGreaterThan(1400)
  })

  it('never caches verifytoken (POST): every check reaches the API', async () => {
    const tag = tagOf(40)
    const before = example.api.count(/^POST \/v1\/players\/.*\/verifytoken$/)
    const ok = await verify(tag, example.api.gameTokens.get(tag)!)
    expect([ok.status, status(ok)]).toEqual([200, 'PASS'])
    expect(await ok.json()).toMatchObject({ tag, status: 'ok' })
    const bad = await verify(tag, 'wrong')
    expect(await bad.json()).toMatchObject({ status: 'invalid' })
    expect(example.api.count(/^POST \/v1\/players\/.*\/verifytoken$/)).toBe(before + 2)
  })

  it('serves stale data at once, with its age, while the API is down for maintenance', async () => {
    const tag = tagOf(50)
    expect(status(await get(`/coc/players/${enc(tag)}`))).toBe('MISS')
    example.api.down(true)
    try {
      await new Promise((resolve) => setTimeout(resolve, 2100))
      const started = Date.now()
      const res = await get(`/coc/players/${enc(tag)}`)
      expect(Date.now() - started).toBeLessThan(1000) // from the store, not after the API
      expect([res.status, status(res)]).toEqual([200, 'STALE'])
      expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(2)
      expect(Date.parse(res.headers.get('x-cache-fetched-at')!)).toBeLessThan(Date.now() - 1500)
      expect(((await res.json()) as { tag: string }).tag).toBe(tag)
    } finally {
      example.api.down(false)
    }
    // Back up: the background refresh brings it fresh again without a client waiting on the API.
    example.api.play(tag)
    const fresh = await until(async () => {
      const res = await get(`/coc/players/${enc(tag)}`)
      return status(res) === 'HIT' ? res : undefined
    }, 5000)
    expect(Number(fresh.headers.get('age'))).toBeLessThanOrEqual(1)
  })

  it('keeps a critical / high / normal / low refresh queue that survives a restart', async () => {
    const inWar = [...example.api.clans.values()].find((c) => c.warState === 'inWar')!
    const notInWar = [...example.api.clans.values()].find((c) => c.warState === 'notInWar')!
    for (const path of [
      `/coc/clans/${enc(inWar.tag)}/currentwar`,
      `/coc/clans/${enc(notInWar.tag)}/currentwar`,
      `/coc/clans/${enc(inWar.tag)}`,
      `/coc/players/${enc(tagOf(60))}`,
      '/coc/leagues',
    ])
      expect((await get(path)).status).toBe(200)
    const byPriority = () => {
      const out: Record<string, string[]> = {}
      for (const item of example.cistern.refresh.scheduler.queue(1000).items) {
        out[item.priority] = [...(out[item.priority] ?? []), item.key]
      }
      return out
    }
    const warKey = `/coc/clans/${enc(inWar.tag)}/currentwar`
    const expected = await until(() => {
      const queue = byPriority()
      const ready =
        queue.critical?.includes(warKey) &&
        queue.high?.includes(`/coc/clans/${enc(inWar.tag)}`) &&
        queue.normal?.includes(`/coc/players/${enc(tagOf(60))}`) &&
        queue.low?.includes('/coc/leagues') &&
        // A war that is not on is not polled (its `while` is false after the first refresh).
        !queue.critical?.includes(`/coc/clans/${enc(notInWar.tag)}/currentwar`)
      return ready ? queue : undefined
    }, 5000)

    await example.restart()
    const restored = byPriority()
    for (const [priority, keys] of Object.entries(expected))
      expect(restored[priority]).toEqual(expect.arrayContaining(keys))
    // The restored schedule runs with no client reading: the war is polled again.
    const warCalls = () => example.api.count(`GET /v1/clans/${enc(inWar.tag)}/currentwar`)
    const before = warCalls()
    await until(() => (warCalls() >= before + 2 ? true : undefined), 5000)
  })
})
