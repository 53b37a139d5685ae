import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign as octokitSign } from '@octokit/webhooks-methods'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimUpstream } from '../../examples/sim-upstream/index.js'
import { TBA_SECRET } from './helpers.js'
import { startOn, startSim } from './stack.js'

async function postTba(url: string, payload: string): Promise<{ status: number; id: number }> {
  const hmac = (await octokitSign(TBA_SECRET, payload)).slice('sha256='.length)
  const res = await fetch(`${url}/hooks/tba`, {
    method: 'POST',
    headers: { 'x-tba-hmac': hmac },
    body: payload,
  })
  return { status: res.status, id: ((await res.json()) as { id: number }).id }
}
const matchScore = (event: string, match: string) =>
  `{"message_type": "match_score", "message_data": {"event_key": "${event}", "match": {"key": "${match}"}}}`

describe('webhook events across a restart (SQLite)', () => {
  let sim: SimUpstream
  let dir: string
  beforeAll(async () => {
    sim = await startSim()
    dir = await mkdtemp(join(tmpdir(), 'cistern-webhooks-restart-'))
  })
  afterAll(async () => {
    await sim?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('received events are still listed after close and reopen, and still count as seen', async () => {
    const first = await startOn(sim, dir)
    const { status, id } = await postTba(first.url, matchScore('USA', 'USA_qm1'))
    expect(status).toBe(200)
    await first.webhooks.idle()
    await first.close(1000)

    const second = await startOn(sim, dir)
    try {
      const { events } = await second.webhooks.events.list({ webhook: 'tba' })
      expect(events.map((e) => [e.id, e.outcome])).toContainEqual([id, 'acted'])
      expect((await second.webhooks.events.get(id))?.body).toMatchObject({
        message_data: { event_key: 'USA' },
      })
      // The replay window reads the log, so a resend after the restart is still a duplicate.
      const again = await fetch(`${second.url}/hooks/tba`, {
        method: 'POST',
        headers: { 'x-tba-hmac': (await octokitSign(TBA_SECRET, matchScore('USA', 'USA_qm1'))).slice(7) },
        body: matchScore('USA', 'USA_qm1'),
      })
      expect(await again.json()).toMatchObject({ duplicate: true, duplicateOf: id })
    } finally {
      await second.close(1000)
    }
  })

  it('an event stored but not acted on before a stop is acted on at the next start', async () => {
    const code = sim.events(2025)[0]!.code
    const path = `/ftc/2025/matches/${code}`
    const first = await startOn(sim, dir)
    await (await fetch(first.url + path)).text()
    expect((await fetch(first.url + path)).headers.get('x-cache-status')).toBe('HIT')
    // Shutting down: deliveries are still taken and stored, but no longer acted on.
    await first.webhooks.drain(0)
    const { status, id } = await postTba(first.url, matchScore(code, `${code}_qm2`))
    expect(status).toBe(200)
    expect((await first.webhooks.events.get(id))?.outcome).toBe('pending')
    await first.close(1000)

    const second = await startOn(sim, dir)
    try {
      await second.webhooks.idle()
      expect((await second.webhooks.events.get(id))?.outcome).toBe('acted')
      expect((await fetch(second.url + path)).headers.get('x-cache-status')).toBe('MISS')
    } finally {
      await second.close(1000)
    }
  })
})
