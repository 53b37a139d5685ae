import { createHmac } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/refresh/index.js'
import { type RefreshHarness, startRefreshHarness, until } from './helpers.js'

const yaml = `
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    ttl: 1h
    refresh: { every: 1h }
    changes: { items: body.matches, id: item.matchNumber }
webhooks:
  - path: /hooks/scores
    verify: { scheme: hmac-sha256, header: X-Sig, secret: hook-secret }
    on:
      - refresh: ["/ftc/{body.season}/matches/{body.event}"]
`

describe('refresh: webhook refresh actions', () => {
  let h: RefreshHarness | undefined
  afterEach(() => h?.close())

  it('a signed webhook refreshes the named path now, with change detection, long before its period', async () => {
    h = await startRefreshHarness(yaml)
    const { season, event } = h.live
    const path = `/ftc/${season}/matches/${event}`
    await (await h.get(path)).text()
    await until(() => (h!.cistern.refresh.scheduler.snapshot().keys === 1 ? true : undefined))
    const events: ChangeEvent[] = []
    h.cistern.refresh.feed.subscribe((e) => events.push(e))
    h.sim.tick()
    const body = JSON.stringify({ season, event })
    const res = await fetch(`${h.url}/hooks/scores`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-sig': createHmac('sha256', 'hook-secret').update(body).digest('hex'),
      },
      body,
    })
    expect(res.status).toBeLessThan(300)
    await until(() => (events.length === 1 ? true : undefined), 5000)
    expect(events[0]).toMatchObject({ route: 'matches', key: path })
    // The kept key stays on its own period afterwards.
    expect(h.cistern.refresh.scheduler.nextRefresh(path)).toBeGreaterThan(Date.now() + 3_000_000)
  }, 15_000)
})
