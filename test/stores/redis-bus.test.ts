import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { InvalidationMessage } from '../../src/stores/coordination.js'
import { createRedisBus, type RedisBus } from '../../src/stores/redis/bus.js'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'

const bin = findService('redis-server')

/** What one instance's listener heard, in order. */
interface Heard {
  messages: { message: InvalidationMessage; at: number }[]
  gaps: string[]
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe.skipIf(!bin)('Redis invalidation bus', () => {
  let redis: ServiceHandle
  let admin: RedisConnection
  const opened: { connection: RedisConnection; bus: RedisBus }[] = []
  let namespace = 0

  beforeAll(async () => {
    redis = await startRedis(bin!)
    admin = new RedisConnection({ url: redis.url })
  })
  afterAll(async () => {
    await admin.close()
    await redis.stop()
  })
  afterEach(async () => {
    for (const { bus, connection } of opened.splice(0)) {
      await bus.close()
      await connection.close()
    }
  })

  /** `count` instances on one fresh namespace, each with its own connection (as separate processes). */
  async function instances(count: number, options: { maxLength?: number; blockMs?: number } = {}) {
    const ns = `bus${++namespace}`
    const made: { id: string; bus: RedisBus; heard: Heard; connection: RedisConnection }[] = []
    for (let i = 0; i < count; i++) {
      const connection = new RedisConnection({ url: redis.url, namespace: ns })
      const id = `instance-${i}`
      const bus = createRedisBus(connection, id, options)
      const heard: Heard = { messages: [], gaps: [] }
      bus.subscribe({
        invalidate: (message, at) => heard.messages.push({ message, at }),
        gap: (reason) => heard.gaps.push(reason),
      })
      await bus.start()
      opened.push({ connection, bus })
      made.push({ id, bus, heard, connection })
    }
    return { made, streamKey: made[0]!.connection.key('bus', 'stream') }
  }

  it('delivers every other instance’s messages in order, never an instance its own', async () => {
    const { made } = await instances(3)
    const [a, b, c] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]]
    const sent: InvalidationMessage[] = []
    for (let i = 0; i < 40; i++) {
      const message: InvalidationMessage =
        i % 3 === 0
          ? { selector: { key: `/k/${i}` }, soft: false }
          : i % 3 === 1
            ? { selector: { tags: [`t${i}`, 'shared'] }, soft: true }
            : { selector: { prefix: `/p/${i}` }, soft: false }
      sent.push(message)
      // Alternate publishers, each publish awaited so the order is the one sent.
      await (i % 2 === 0 ? a : b).bus.publish(message)
    }
    await until(() => c.heard.messages.length === 40, 'c to hear all 40')
    await until(() => a.heard.messages.length === 20 && b.heard.messages.length === 20, 'a and b')
    expect(c.heard.messages.map((m) => m.message)).toEqual(sent)
    expect(a.heard.messages.map((m) => m.message)).toEqual(sent.filter((_, i) => i % 2 === 1))
    expect(b.heard.messages.map((m) => m.message)).toEqual(sent.filter((_, i) => i % 2 === 0))
    expect([a, b, c].flatMap((x) => x.heard.gaps)).toEqual([])
    // `at` is the server's clock when it took the message, in order.
    const [seconds, micros] = (await admin.client.time()) as [number | string, number | string]
    const serverNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    const ats = c.heard.messages.map((m) => m.at)
    expect([...ats].sort((x, y) => x - y)).toEqual(ats)
    expect(serverNow - ats[0]!).toBeGreaterThanOrEqual(0)
    expect(serverNow - ats[0]!).toBeLessThan(10_000)
  })

  it('tells a reader that fell behind past the trimmed end `gap`, then delivers again', async () => {
    const { made } = await instances(2, { maxLength: 10 })
    const [writer, reader] = made as [(typeof made)[0], (typeof made)[0]]
    let stalled = false
    reader.bus.subscribe({
      invalidate: () => {
        if (stalled) return
        stalled = true
        // A busy process: while it does not read, the writer's queued publishes run and trim the stream.
        const until = performance.now() + 300
        while (performance.now() < until) {}
      },
      gap: () => {},
    })
    // All written to the socket at once; the server runs them while the reader is stalled.
    await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        writer.bus.publish({ selector: { key: `/k/${i}` }, soft: false }),
      ),
    )
    await until(() => reader.heard.gaps.length === 1, 'a gap')
    expect(reader.heard.gaps[0]).toMatch(/trimmed away/)
    const heardBefore = reader.heard.messages.length
    expect(heardBefore).toBeLessThan(400)
    await writer.bus.publish({ selector: { key: '/after' }, soft: false })
    await until(
      () =>
        reader.heard.messages.some((m) => 'key' in m.message.selector && m.message.selector.key === '/after'),
      'the message after the gap',
    )
    expect(reader.heard.gaps).toHaveLength(1)
  })

  it('tells readers `gap` when the stream is deleted, whether or not anything is published after', async () => {
    const { made, streamKey } = await instances(2, { blockMs: 100 })
    const [writer, reader] = made as [(typeof made)[0], (typeof made)[0]]
    await writer.bus.publish({ selector: { key: '/one' }, soft: false })
    await until(() => reader.heard.messages.length === 1, 'the first message')

    // Deleted with nothing published after: the idle reader notices the new epoch.
    expect(await admin.client.del(streamKey)).toBe(1)
    await until(() => reader.heard.gaps.length === 1, 'a gap while idle')
    expect(reader.heard.gaps[0]).toBe('stream recreated')
    await writer.bus.publish({ selector: { key: '/two' }, soft: false })
    await until(() => reader.heard.messages.length === 2, 'the message after the recreation')
    expect(reader.heard.gaps).toHaveLength(1)

    // Deleted and published to at once (the server emptied, a writer first): the new epoch arrives with it.
    await admin.client.del(streamKey)
    await writer.bus.publish({ selector: { key: '/three' }, soft: false })
    await until(() => reader.heard.gaps.length === 2, 'a second gap')
    expect(reader.heard.gaps[1]).toBe('stream recreated')
    await writer.bus.publish({ selector: { key: '/four' }, soft: false })
    await until(
      () =>
        reader.heard.messages.some((m) => 'key' in m.message.selector && m.message.selector.key === '/four'),
      'messages after the second recreation',
    )
  })

  it('tells a reader whose connection was killed `gap` when it reads again, and reads on', async () => {
    const { made } = await instances(2)
    const [writer, reader] = made as [(typeof made)[0], (typeof made)[0]]
    const list = (await admin.client.client('LIST')) as string
    const readerLine = list.split('\n').find((line) => line.includes(`name=cistern-bus-${reader.id}`))
    expect(readerLine).toBeDefined()
    const readerId = /(?:^| )id=(\d+)/.exec(readerLine!)![1]!
    await admin.client.client('KILL', 'ID', readerId)
    await writer.bus.publish({ selector: { key: '/while-away' }, soft: false })
    await until(() => reader.heard.gaps.length === 1, 'a gap after the reconnect')
    expect(reader.heard.gaps[0]).toMatch(/^reading again after/)
    await writer.bus.publish({ selector: { key: '/after' }, soft: false })
    await until(
      () =>
        reader.heard.messages.some((m) => 'key' in m.message.selector && m.message.selector.key === '/after'),
      'a message after the reconnect',
    )
  })

  it('fails a publish with a StoreError at once when the server is gone', async () => {
    const connection = new RedisConnection({ url: 'redis://127.0.0.1:1', timeoutMs: 200 })
    const bus = createRedisBus(connection, 'lonely')
    const started = Date.now()
    await expect(bus.publish({ selector: { key: '/x' }, soft: false })).rejects.toThrow(
      /redis store: publish/,
    )
    expect(Date.now() - started).toBeLessThan(1000)
    await bus.close()
    await connection.close()
  })
})
