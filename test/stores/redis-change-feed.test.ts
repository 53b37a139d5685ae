import { afterEach, describe, expect, it } from 'vitest'
import { openRefreshDb } from '../../src/refresh/db.js'
import { EventLog } from '../../src/refresh/event-log.js'
import { ChangeFeed } from '../../src/refresh/feed.js'
import type { ChangeEvent } from '../../src/refresh/index.js'
import { createRedisChangeLog } from '../../src/stores/redis/change-log.js'
import { until } from '../refresh/helpers.js'
import { findService } from '../support/services.js'
import { redisFixture } from './redis-helpers.js'

const bin = findService('redis-server')

const eventOf = (n: number): ChangeEvent => ({
  id: `evt_${String(n).padStart(5, '0')}`,
  route: n % 2 ? 'odd' : 'even',
  key: `/items/${n}`,
  url: `/items/${n}`,
  at: n,
  previousFetchedAt: n - 1,
  digest: `d${n}`,
  previousDigest: `d${n - 1}`,
  added: [],
  removed: [],
  changed: [],
  patch: null,
  tags: n % 3 ? [] : ['third'],
})
const shared = (event: ChangeEvent) => ({ id: event.id, route: event.route, json: JSON.stringify(event) })

describe.skipIf(!bin)('the change feed on a shared change log', () => {
  const redis = redisFixture(bin!)
  const closers: Array<() => void> = []
  afterEach(() => {
    for (const close of closers.splice(0)) close()
  })

  function feeds(n: number) {
    return redis.instances(n, (connection, name) => {
      const log = createRedisChangeLog(connection, name)
      const db = openRefreshDb(':memory:')
      const feed = new ChangeFeed(new EventLog(db, 100), log)
      closers.push(() => {
        feed.close()
        db.close()
      })
      return { log, feed }
    })
  }

  it('a resume replays every page after the id, then live events, none twice and in order, with filters', async () => {
    const [a, b] = await feeds(2)
    for (let n = 1; n <= 1200; n++) await a!.log.append(shared(eventOf(n)))
    const got: string[] = []
    const thirds: string[] = []
    b!.feed.subscribe((event) => got.push(event.id), { lastEventId: eventOf(100).id })
    b!.feed.subscribe((event) => thirds.push(event.id), { lastEventId: eventOf(100).id, tag: 'third' })
    // Appended while the replay is read: heard live and replayed maybe both, delivered once.
    for (let n = 1201; n <= 1220; n++) await a!.log.append(shared(eventOf(n)))
    await until(() => (got.length >= 1120 ? true : undefined), 10_000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(got).toEqual(Array.from({ length: 1120 }, (_, i) => eventOf(i + 101).id))
    expect(thirds).toEqual(got.filter((id) => Number(id.slice(4)) % 3 === 0))
    // The newest event heard is where a client told to reset resumes from.
    expect(b!.feed.lastEventId).toBe(eventOf(1220).id)
  })

  it('an unknown id is a reset before any live event', async () => {
    const [a, b] = await feeds(2)
    await a!.log.append(shared(eventOf(1)))
    // Let b's reader (started with its feed) hear the first event before the client subscribes.
    await until(() => (b!.feed.lastEventId === eventOf(1).id ? true : undefined))
    const seen: string[] = []
    b!.feed.subscribe((event) => seen.push(event.id), {
      lastEventId: 'evt_gone',
      onReset: () => seen.push('reset'),
    })
    await a!.log.append(shared(eventOf(2)))
    await until(() => (seen.length === 2 ? true : undefined))
    expect(seen).toEqual(['reset', eventOf(2).id])
  })

  it('a reader still behind the Last-Event-ID sends nothing the client had, nothing twice', async () => {
    const namespace = redis.namespace()
    const writer = createRedisChangeLog(await redis.connect(namespace), 'writer')
    const log = createRedisChangeLog(await redis.connect(namespace), 'lagging')
    let release: () => void = () => {}
    const behind: Array<() => void> = []
    // The real log, its events handed on only when released: a reader that lags behind the writer.
    const lagging = {
      ...log,
      tail(listener: Parameters<typeof log.tail>[0]) {
        let released = false
        release = () => {
          released = true
          for (const hand of behind.splice(0)) hand()
        }
        return log.tail((event) => (released ? listener(event) : behind.push(() => listener(event))))
      },
    }
    const db = openRefreshDb(':memory:')
    const feed = new ChangeFeed(new EventLog(db, 100), lagging)
    closers.push(() => {
      feed.close()
      db.close()
    })
    // Let the reader take its position (the stream's end when it starts) before the first append.
    await new Promise((resolve) => setTimeout(resolve, 100))
    for (let n = 1; n <= 200; n++) await writer.append(shared(eventOf(n)))
    await until(() => (behind.length === 200 ? true : undefined))
    const got: string[] = []
    feed.subscribe((event) => got.push(event.id), { lastEventId: eventOf(150).id })
    await until(() => (got.length === 50 ? true : undefined))
    // The reader catches up: 1 to 200 again, all of them had by the client already.
    release()
    for (let n = 201; n <= 205; n++) await writer.append(shared(eventOf(n)))
    await until(() => (got.length >= 55 ? true : undefined))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(got).toEqual(Array.from({ length: 55 }, (_, i) => eventOf(i + 151).id))
  })

  it('a reader started after the replay hands on what follows it', async () => {
    const namespace = redis.namespace()
    const writer = createRedisChangeLog(await redis.connect(namespace), 'writer')
    for (let n = 1; n <= 20; n++) await writer.append(shared(eventOf(n)))
    const log = createRedisChangeLog(await redis.connect(namespace), 'late')
    const db = openRefreshDb(':memory:')
    const feed = new ChangeFeed(new EventLog(db, 100), log)
    closers.push(() => {
      feed.close()
      db.close()
    })
    const got: string[] = []
    feed.subscribe((event) => got.push(event.id), { lastEventId: eventOf(10).id })
    await until(() => (got.length === 10 ? true : undefined))
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (let n = 21; n <= 23; n++) await writer.append(shared(eventOf(n)))
    await until(() => (got.length >= 13 ? true : undefined))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(got).toEqual(Array.from({ length: 13 }, (_, i) => eventOf(i + 11).id))
  })
})
