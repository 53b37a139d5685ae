import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CisternConfig } from '../../src/config/types.js'
import {
  type EventStore,
  eventLogPath,
  MemoryEventStore,
  SqliteEventStore,
  type WebhookEvent,
} from '../../src/webhooks/index.js'
import { type EventStoreLimits, type NewEvent, openEventStore } from '../../src/webhooks/store/index.js'
import { EVENT_LOG_SCHEMA } from '../../src/webhooks/store/sqlite-schema.js'

const HOUR = 3600_000
const limits = (over: Partial<EventStoreLimits> = {}): EventStoreLimits => ({
  keep: new Map([['tba', 2 * HOUR]]),
  defaultKeep: 10 * HOUR,
  maxEvents: 1000,
  maxRejected: 1000,
  maxBytes: 1_000_000,
  ...over,
})

const accepted = (at: number, deliveryId: string, extra: Partial<NewEvent> = {}): NewEvent => {
  const raw = Buffer.from(`{"message_type": "match_score", "n": "${deliveryId}"}`)
  return {
    webhook: 'tba',
    receivedAt: at,
    verified: true,
    outcome: 'pending',
    size: raw.byteLength,
    deliveryId,
    type: 'match_score',
    headers: { 'content-type': 'application/json' },
    params: {},
    raw,
    body: JSON.parse(raw.toString()),
    ...extra,
  }
}
const refused = (at: number): NewEvent => ({
  webhook: 'tba',
  receivedAt: at,
  verified: false,
  outcome: 'unauthorized',
  reason: 'signature does not match',
  size: 10,
})

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cistern-events-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

let n = 0
const kinds: [string, (l?: Partial<EventStoreLimits>) => EventStore][] = [
  ['memory', (l) => new MemoryEventStore(limits(l))],
  ['sqlite', (l) => new SqliteEventStore(join(dir, `events-${++n}.db`), limits(l))],
]

describe.each(kinds)('event log (%s)', (_kind, open) => {
  it('appends, finishes, finds accepted deliveries only, and lists newest first with a cursor', () => {
    const store = open()
    const t = 1_000_000
    const ids = [1, 2, 3, 4, 5].map((i) => store.append(accepted(t + i, `d${i}`)))
    store.append(refused(t + 6))
    store.finish(ids[0]!, 'acted', [{ index: 0, matched: true, invalidated: ['event:x'], count: 2 }], t + 10)
    expect(store.get(ids[0]!)).toMatchObject({
      outcome: 'acted',
      actedAt: t + 10,
      actions: [{ invalidated: ['event:x'] }],
      body: { message_type: 'match_score', n: 'd1' },
      headers: { 'content-type': 'application/json' },
    })
    expect(store.findDelivery('tba', 'd2', t)).toBe(ids[1])
    expect(store.findDelivery('tba', 'd2', t + 3)).toBeUndefined()
    expect(store.findDelivery('other', 'd2', t)).toBeUndefined()
    expect(store.pending(10).map((e) => e.id)).toEqual(ids.slice(1))

    const first = store.list({ limit: 4 })
    expect(first.events.map((e) => e.id)).toEqual([6, 5, 4, 3])
    expect(first.events[1]?.body).toBeUndefined() // lists are light; get(id) has the body
    const second = store.list({ limit: 4, cursor: first.nextCursor! })
    expect(second.events.map((e) => e.id)).toEqual([2, 1])
    expect(second.nextCursor).toBeUndefined()
    expect(store.list({ outcome: 'unauthorized' }).events.map((e) => e.id)).toEqual([6])
    expect(store.list({ webhook: 'nope' }).events).toEqual([])
    expect(() => store.list({ cursor: 'x' })).toThrow(RangeError)
    store.close()
  })

  it('records an act-once claim on a pending event; pending() carries it for a resume', () => {
    const store = open()
    const [a, b] = [store.append(accepted(1, 'a')), store.append(accepted(2, 'b'))]
    store.claim(b, 3)
    expect(store.pending(10).map((e) => [e.id, e.claimedAt])).toEqual([
      [a, undefined],
      [b, 3],
    ])
    store.finish(b, 'acted', [], 4)
    expect(store.get(b)).toMatchObject({ outcome: 'acted', claimedAt: 3, actedAt: 4 })
    store.close()
  })

  it('prunes by retention per webhook and caps refusals, verified events and bytes', () => {
    const store = open({ maxRejected: 3, maxEvents: 4 })
    const t = 10 * HOUR
    store.append(accepted(t - 3 * HOUR, 'old')) // past tba's 2 h
    store.append({ ...accepted(t - 3 * HOUR, 'other'), webhook: 'gone' }) // default 10 h: kept
    for (let i = 0; i < 5; i++) store.append(refused(t))
    for (let i = 0; i < 5; i++) store.append(accepted(t, `new${i}`))
    store.prune(t)
    const all = store.list({ limit: 100 }).events
    expect(all.filter((e) => !e.verified).length).toBeLessThanOrEqual(3)
    const verified = all.filter((e) => e.verified)
    expect(verified.length).toBeLessThanOrEqual(4)
    expect(verified.map((e) => e.deliveryId)).not.toContain('old')
    expect(verified[0]?.deliveryId).toBe('new4') // the newest survive
    store.close()

    const small = open({ maxBytes: 200 })
    for (let i = 0; i < 10; i++) small.append(accepted(t, `b${i}`))
    small.prune(t)
    const kept = small.list({ limit: 100 }).events
    expect(kept.reduce((sum, e) => sum + e.size, 0)).toBeLessThanOrEqual(200)
    expect(kept[0]?.deliveryId).toBe('b9')
    small.close()
  })
})

describe('event log on SQLite', () => {
  it('lives next to the cache database', () => {
    expect(eventLogPath('/data/cache.db')).toBe('/data/cache.webhooks.db')
    expect(eventLogPath('/data/cache')).toBe('/data/cache.webhooks.db')
  })

  it('survives closing and reopening, ids keep increasing', () => {
    const path = join(dir, 'reopen.db')
    const first = new SqliteEventStore(path, limits())
    const id = first.append(accepted(5, 'kept'))
    first.finish(id, 'acted', [], 6)
    first.close()
    const again = new SqliteEventStore(path, limits())
    const event: WebhookEvent | undefined = again.get(id)
    expect(event).toMatchObject({ outcome: 'acted', deliveryId: 'kept', body: { n: 'kept' } })
    expect(again.findDelivery('tba', 'kept', 0)).toBe(id)
    expect(again.append(accepted(7, 'next'))).toBeGreaterThan(id)
    again.close()
  })

  it("keeps a pending event's act-once claim across closing and reopening, and shows it", () => {
    const path = join(dir, 'claim.db')
    const first = new SqliteEventStore(path, limits())
    const claimed = first.append(accepted(5, 'claimed'))
    const unclaimed = first.append(accepted(6, 'unclaimed'))
    first.claim(claimed, 7)
    first.close()
    const again = new SqliteEventStore(path, limits())
    expect(again.pending(10).map((e) => [e.id, e.claimedAt])).toEqual([
      [claimed, 7],
      [unclaimed, undefined],
    ])
    expect(again.list({}).events.find((e) => e.id === claimed)?.claimedAt).toBe(7)
    again.close()
  })

  it('a log written before claims were recorded is migrated with its events, none claimed', () => {
    const path = join(dir, 'version-1.db')
    const old = new Database(path)
    old.exec(EVENT_LOG_SCHEMA.migrations[0]!)
    old.pragma(`application_id = ${EVENT_LOG_SCHEMA.applicationId}`)
    old.pragma('user_version = 1')
    old
      .prepare(
        `INSERT INTO webhook_events (webhook, received_at, verified, outcome, delivery_id, size, body)
        VALUES ('tba', 5, 1, 'pending', 'd1', 2, '{}')`,
      )
      .run()
    old.close()
    const log = new SqliteEventStore(path, limits())
    const [pending] = log.pending(10)
    expect(pending).toMatchObject({ deliveryId: 'd1', outcome: 'pending' })
    expect(pending?.claimedAt).toBeUndefined()
    log.claim(pending!.id, 9)
    expect(log.get(pending!.id)?.claimedAt).toBe(9)
    log.close()
  })

  it('opens an up-to-date log without writing to it, so a full disk cannot stop a restart', async () => {
    const path = join(dir, 'no-write.db')
    const first = new SqliteEventStore(path, limits())
    first.append(accepted(5, 'one'))
    first.close()
    const before = await readFile(path)
    // Every write is refused on this connection, as on a disk with no room for the WAL.
    const again = new SqliteEventStore(path, limits(), { maxPageCount: 1 })
    expect(again.pending(10)).toHaveLength(1)
    again.close()
    expect((await readFile(path)).equals(before)).toBe(true)
  })

  it('a damaged log is refused at open and left as it was; openEventStore keeps events in memory', async () => {
    const base = join(dir, 'damaged', 'cache.db')
    const path = eventLogPath(base)
    const log = new SqliteEventStore(path, limits())
    for (let i = 0; i < 200; i++) log.append(accepted(i, `d${i}`))
    log.close()
    const bytes = await readFile(path)
    bytes.fill(0xa5, 4096 * 2, 4096 * 4)
    await writeFile(path, bytes)
    expect(() => new SqliteEventStore(path, limits())).toThrow(/quick_check/)
    const faults: Error[] = []
    const config = { store: { kind: 'sqlite', path: base }, webhooks: [] } as unknown as CisternConfig
    const fallback = openEventStore(config, { onFault: (error) => faults.push(error) })
    expect(fallback.kind).toBe('memory')
    expect(faults[0]?.message).toMatch(/quick_check/)
    fallback.close()
    expect((await readFile(path)).equals(bytes)).toBe(true)
  })
})
