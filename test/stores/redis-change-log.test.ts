import { describe, expect, it } from 'vitest'
import type { SharedChange } from '../../src/stores/coordination.js'
import { createRedisChangeLog } from '../../src/stores/redis/change-log.js'
import { findService } from '../support/services.js'
import { redisFixture } from './redis-helpers.js'

const bin = findService('redis-server')
const change = (n: number): SharedChange => ({
  id: `evt_${String(n).padStart(4, '0')}`,
  route: n % 2 ? 'odd' : 'even',
  json: JSON.stringify({ n, text: 'line\nbreak "quoted" é' }),
})

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.skipIf(!bin)('redis change log', () => {
  const redis = redisFixture(bin!)

  const instances = (n: number, capacity?: number) =>
    redis.instances(n, (connection, name) =>
      createRedisChangeLog(connection, name, capacity === undefined ? {} : { capacity }),
    )

  it('every instance reads the same events in order, and resumes after any id, whoever appended it', async () => {
    const [a, b] = await instances(2)
    expect(await b!.since(undefined, 10)).toEqual([])
    for (let n = 1; n <= 5; n++) await (n % 2 ? a! : b!).append(change(n))
    expect(await a!.since(undefined, 10)).toEqual([1, 2, 3, 4, 5].map(change))
    expect(await b!.since('evt_0002', 10)).toEqual([3, 4, 5].map(change))
    expect(await a!.since('evt_0002', 2)).toEqual([3, 4].map(change))
    expect(await b!.since('evt_0005', 10)).toEqual([])
    // Never kept: the client cannot resume.
    expect(await a!.since('evt_9999', 10)).toBeUndefined()
    expect(await a!.since('x'.repeat(128), 10)).toBeUndefined()
  })

  it('holds the newest `capacity` events: an id trimmed away is unknown', async () => {
    const [a] = await instances(1, 3)
    for (let n = 1; n <= 200; n++) await a!.append(change(n))
    expect(await a!.since('evt_0197', 10)).toBeUndefined()
    expect(await a!.since('evt_0198', 10)).toEqual([199, 200].map(change))
    // The id index is trimmed with the stream: it never grows past the capacity.
    const raw = redis.connections[0]!
    const ids = await raw.client.hlen(raw.key('changes', 'changes', 'ids'))
    expect(ids).toBe(3)
    const length = await raw.client.xlen(raw.key('changes', 'changes', 'stream'))
    expect(length).toBeGreaterThanOrEqual(3)
    expect(length).toBeLessThan(200)
  })

  it('tail: every instance hears each event appended after it started, once, in order', async () => {
    const [a, b, c] = await instances(3)
    await a!.append(change(1))
    const heard: SharedChange[][] = [[], [], []]
    const stops = [a!, b!, c!].map((log, i) => log.tail((event) => heard[i]!.push(event)))
    // Let the readers find their starting point (the newest event) before appending.
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (let n = 2; n <= 30; n++) await [a!, b!, c!][n % 3]!.append(change(n))
    await until(() => heard.every((list) => list.length >= 29))
    await new Promise((resolve) => setTimeout(resolve, 100))
    const expected = Array.from({ length: 29 }, (_, i) => change(i + 2))
    for (const list of heard) expect(list).toEqual(expected)
    for (const stop of stops) stop()
  })

  it('tail keeps its position across an idle wait longer than the command deadline, and stops when unsubscribed', async () => {
    const [a] = await instances(1)
    const heard: string[] = []
    const stop = a!.tail((event) => heard.push(event.id))
    // The connection's deadline is 1 s: an idle blocking read must not time out into an error loop.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await a!.append(change(1))
    await until(() => heard.length === 1)
    stop()
    await new Promise((resolve) => setTimeout(resolve, 700))
    await a!.append(change(2))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(heard).toEqual(['evt_0001'])
  })

  it('appending fails with a StoreError when the server is unreachable', async () => {
    const connection = await redis.connect('unreachable', 200)
    await connection.close()
    const log = createRedisChangeLog(connection, 'x')
    await expect(log.append(change(1))).rejects.toThrow(/after close|redis/)
  })
})
