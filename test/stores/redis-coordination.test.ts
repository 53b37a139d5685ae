import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { RedisHeartbeat } from '../../src/stores/redis/heartbeat.js'
import { findService, type ServiceHandle, startRedis } from '../support/services.js'

const bin = findService('redis-server')

describe.skipIf(!bin)('redis coordination groundwork: heartbeat and breaker', () => {
  let server: ServiceHandle
  beforeAll(async () => {
    server = await startRedis(bin!)
  })
  afterAll(() => server?.stop())

  const connect = (namespace: string, timeoutMs = 200) =>
    new RedisConnection({ url: server.url, namespace, timeoutMs, probeIntervalMs: 50 })

  it('counts the instances that beat, by the server’s clock, and forgets one that leaves', async () => {
    const namespace = `hb${randomUUID().slice(0, 6)}`
    const connections = [connect(namespace), connect(namespace), connect(namespace)]
    const beats = connections.map((connection, i) => new RedisHeartbeat(connection, `instance-${i}`))
    for (const beat of beats) await beat.start()
    await beats[0]!.beat()
    expect(beats[0]!.liveInstances()).toBe(3)
    await beats[2]!.close()
    await beats[0]!.beat()
    expect(beats[0]!.liveInstances()).toBe(2)
    // Another namespace is another cistern.
    const other = new RedisHeartbeat(connect(`${namespace}x`), 'alone')
    await other.start()
    expect(other.liveInstances()).toBe(1)
    for (const beat of [...beats, other]) await beat.close()
    for (const connection of connections) await connection.close()
  })

  it('opens the breaker while Redis is frozen (calls then fail at once) and closes it by itself', async () => {
    const connection = connect(`br${randomUUID().slice(0, 6)}`)
    const ping = () => connection.call('ping', (client) => client.ping())
    expect(await ping()).toBe('PONG')
    expect(connection.healthy()).toBe(true)
    server.freeze()
    try {
      for (let i = 0; i < 3; i++) await expect(ping()).rejects.toMatchObject({ code: 'E_STORE_TIMEOUT' })
      expect(connection.healthy()).toBe(false)
      expect(connection.unhealthyReason()).toMatch(/timed out/)
      const started = Date.now()
      await expect(ping()).rejects.toMatchObject({ code: 'E_STORE' })
      expect(Date.now() - started).toBeLessThan(50)
    } finally {
      server.thaw()
    }
    const deadline = Date.now() + 5000
    while (!connection.healthy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(connection.healthy()).toBe(true)
    expect(await ping()).toBe('PONG')
    await connection.close()
  })

  it('fails at once (never queues) while Redis is down, and reconnects when it is back', async () => {
    const connection = connect(`dn${randomUUID().slice(0, 6)}`)
    expect(await connection.call('ping', (client) => client.ping())).toBe('PONG')
    await server.kill()
    const started = Date.now()
    await expect(connection.call('ping', (client) => client.ping())).rejects.toMatchObject({
      code: 'E_STORE',
    })
    expect(Date.now() - started).toBeLessThan(250)
    await vi.waitFor(() => expect(connection.healthy()).toBe(false), { timeout: 1000, interval: 10 })
    await server.restart()
    const deadline = Date.now() + 5000
    while (!connection.healthy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(connection.healthy()).toBe(true)
    await connection.close()
  })
})
