import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/engine/create-cache.js'
import { memoryStore } from '../../src/stores/memory/index.js'
import { outcomeOf, runActions, softInvalidationRefresher } from '../../src/webhooks/actions.js'
import { config, recordingCache, recordingRefresher } from './helpers.js'

const cfg = config(`
store: { kind: memory }
webhooks:
  - path: /hooks/:source
    verify: { scheme: hmac-sha256, header: X-Sig, secret: s }
    on:
      - when: headers["x-kind"] == "score" && timestamp(body.at) + duration("1h") > now
        invalidate: ["event:{body.event}", "source:{source}"]
      - when: body.kind == "team"
        refresh: ["/ftc/{params.source}/teams/{body.team}", "team:{body.team}"]
        soft: true
      - invalidate: ["all:{params.source}"]
        soft: true
`)
const actions = cfg.webhooks[0]!.on

describe('webhook actions', () => {
  it('when (CEL over body, headers, params, now) chooses; templates fill from the delivery', async () => {
    const cache = recordingCache()
    const refresher = recordingRefresher()
    const now = Date.parse('2025-03-01T12:00:00Z')
    const input = {
      body: { at: '2025-03-01T11:30:00Z', event: 'USMIDEM3', kind: 'team', team: 7244 },
      headers: { 'x-kind': 'score' },
      params: { source: 'ftc' },
      now,
    }
    const results = await runActions(actions, input, { cache, refresher })
    expect(results).toEqual([
      { index: 0, matched: true, invalidated: ['event:USMIDEM3', 'source:ftc'], count: 1 },
      { index: 1, matched: true, refreshed: ['/ftc/ftc/teams/7244', 'team:7244'], count: 2 },
      { index: 2, matched: true, invalidated: ['all:ftc'], count: 1 },
    ])
    expect(cache.calls).toEqual([
      { selector: { tags: ['event:USMIDEM3', 'source:ftc'] }, soft: false },
      { selector: { tags: ['all:ftc'] }, soft: true },
    ])
    expect(refresher.calls).toEqual([
      { selector: { key: '/ftc/ftc/teams/7244' }, lane: 'background' },
      { selector: { tag: 'team:7244' }, lane: 'background' },
    ])
    expect(outcomeOf(results)).toBe('acted')

    // Two hours later the first condition no longer holds.
    const later = await runActions(actions, { ...input, now: now + 2 * 3600_000 }, { cache, refresher })
    expect(later[0]).toEqual({ index: 0, matched: false })
  })

  it('a when that cannot evaluate is an error on that action only', async () => {
    const results = await runActions(
      actions,
      { body: { at: 'not a time' }, headers: { 'x-kind': 'score' }, params: { source: 'x' }, now: 0 },
      { cache: recordingCache(), refresher: recordingRefresher() },
    )
    expect(results[0]?.error).toBeTruthy()
    expect(results[2]).toMatchObject({ matched: true, invalidated: ['all:x'] })
    expect(outcomeOf(results)).toBe('failed')
    expect(outcomeOf([{ index: 0, matched: false }])).toBe('ignored')
  })

  it('until the scheduler lands, refresh marks the selection stale (a path with its variants)', async () => {
    let now = 1_000_000
    const cache = createCache<string>({ store: memoryStore(), now: () => now })
    const put = (key: string, tags: string[] = []) =>
      cache.getOrSet(key, () => `v:${key}`, { ttl: '1h', stale: '1d', tags })
    for (const key of [
      '/ftc/2025/teams/1',
      '/ftc/2025/teams/1?x=1',
      '/ftc/2025/teams/1#auth=a',
      '/ftc/2025/teams/10',
    ])
      await put(key)
    await put('/other', ['team:1'])
    const refresher = softInvalidationRefresher(cache)
    expect(await refresher.refresh({ key: '/ftc/2025/teams/1' }, 'background')).toBe(3)
    expect(await refresher.refresh({ tag: 'team:1' }, 'background')).toBe(1)
    now += 1
    const status = async (key: string) => (await cache.peek(key))?.status
    expect(await status('/ftc/2025/teams/1')).toBe('stale')
    expect(await status('/ftc/2025/teams/1?x=1')).toBe('stale')
    expect(await status('/ftc/2025/teams/1#auth=a')).toBe('stale')
    expect(await status('/ftc/2025/teams/10')).toBe('hit')
    expect(await status('/other')).toBe('stale')
    await cache.close()
  })
})
