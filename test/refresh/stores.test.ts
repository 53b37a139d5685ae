import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openRefreshDb, refreshDbPath } from '../../src/refresh/db.js'
import { EventLog } from '../../src/refresh/event-log.js'
import { OutboxStore } from '../../src/refresh/notify/outbox-store.js'
import { ScheduleStore } from '../../src/refresh/schedule-store.js'
import type { ChangeEvent } from '../../src/refresh/types.js'

const event = (n: number): ChangeEvent => ({
  id: `evt_${n}`,
  route: 'r',
  key: `/k/${n}`,
  url: `http://gw/k/${n}`,
  at: n,
  previousFetchedAt: n - 1,
  digest: `d${n}`,
  previousDigest: `d${n - 1}`,
  added: [],
  removed: [],
  changed: [n],
  patch: null,
  tags: [],
})

describe('refresh: durable state', () => {
  it('the refresh database sits beside a SQLite store, in memory otherwise', () => {
    expect(
      refreshDbPath({ kind: 'sqlite', path: '/srv/data/cache.db', memory: 1, timeout: 1, maxSize: 1 }),
    ).toBe('/srv/data/cache.refresh.db')
    expect(refreshDbPath({ kind: 'memory', memory: 1, timeout: 1, maxSize: 1 })).toBe(':memory:')
  })

  it('the event buffer keeps the newest `capacity` events and resumes after an id, across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cistern-refresh-db-'))
    try {
      const path = join(dir, 'x.refresh.db')
      let db = openRefreshDb(path)
      let log = new EventLog(db, 3)
      for (let n = 1; n <= 5; n++) log.append(event(n))
      db.close()
      db = openRefreshDb(path)
      log = new EventLog(db, 3)
      const ids = (after?: string) => {
        const replay = log.since(after)
        return replay && [...replay].map((e) => e.id)
      }
      expect(ids('evt_4')).toEqual(['evt_5'])
      expect(ids('evt_5')).toEqual([])
      expect(ids()).toEqual(['evt_3', 'evt_4', 'evt_5'])
      // A dropped (or unknown) id cannot be resumed from: no replay, the feed sends a reset instead.
      expect(ids('evt_1')).toBeUndefined()
      expect(ids('bogus')).toBeUndefined()
      expect(log.stats()).toEqual({ buffered: 3, capacity: 3, lastEventId: 'evt_5' })
      db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the outbox is ordered and bounded per target, and forgets targets no longer configured', () => {
    const outbox = new OutboxStore(openRefreshDb(':memory:'), 2)
    expect(outbox.enqueue('a', 'e1', '{}', 0)).toBe(0)
    expect(outbox.enqueue('a', 'e2', '{}', 0)).toBe(0)
    expect(outbox.enqueue('a', 'e3', '{}', 0)).toBe(1)
    outbox.enqueue('b', 'e1', '{}', 0)
    expect(outbox.head('a')?.eventId).toBe('e2')
    outbox.failed(outbox.head('a')!.seq, 1, 500, 'HTTP 503')
    expect(outbox.head('a')).toMatchObject({ eventId: 'e2', attempts: 1, nextAt: 500 })
    outbox.done(outbox.head('a')!.seq)
    expect(outbox.head('a')?.eventId).toBe('e3')
    outbox.retain(['a'])
    expect(outbox.pending('b')).toBe(0)
    expect(outbox.pending('a')).toBe(1)
  })

  it('the schedule keeps the last version seen, but not bodies over the limit', () => {
    const schedule = new ScheduleStore(openRefreshDb(':memory:'))
    schedule.upsert({ key: '/k', route: 'r', dueAt: 10, lastReadAt: 5, reads: 2 })
    expect(schedule.seen('/k')).toBeUndefined()
    schedule.setSeen('/k', {
      digest: 'd',
      fetchedAt: 7,
      body: Buffer.from('{"a":1}'),
      headers: { etag: '"x"' },
    })
    schedule.confirm('/k', 9)
    expect(schedule.seen('/k')).toEqual({
      digest: 'd',
      fetchedAt: 9,
      body: Buffer.from('{"a":1}'),
      headers: { etag: '"x"' },
    })
    schedule.setSeen('/k', { digest: 'e', fetchedAt: 11, body: Buffer.alloc(5 * 1024 * 1024), headers: {} })
    expect(schedule.seen('/k')).toMatchObject({ digest: 'e', body: null })
    schedule.setDue('/k', 20, 3)
    expect(schedule.all()).toEqual([
      { key: '/k', route: 'r', dueAt: 20, lastReadAt: 5, reads: 2, failures: 3 },
    ])
  })
})
