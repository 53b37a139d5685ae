import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import type { InvalidationMessage } from '../../src/stores/coordination.js'
import { createPostgresBus, type PostgresBus } from '../../src/stores/postgres/bus.js'
import { eventually, postgresBin, usePostgres } from './postgres-support.js'

interface Heard {
  messages: [InvalidationMessage, number][]
  gaps: string[]
}

describe.skipIf(!postgresBin)('postgres invalidation bus', () => {
  const pgs = usePostgres()
  const buses: PostgresBus[] = []
  afterEach(() => {
    for (const bus of buses.splice(0)) bus.close()
  })

  async function instance(namespace: string, id: string, user?: string): Promise<[PostgresBus, Heard]> {
    const connection = pgs.connect({
      namespace,
      ...(user && { url: pgs.server.url.replace('postgres@', `${user}@`) }),
    })
    const bus = createPostgresBus(connection, id, { retentionMs: 0 })
    const heard: Heard = { messages: [], gaps: [] }
    bus.subscribe({
      invalidate: (message, at) => heard.messages.push([message, at]),
      gap: (r) => heard.gaps.push(r),
    })
    await bus.start()
    buses.push(bus)
    return [bus, heard]
  }

  async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(pgs.server.url)
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end()
    }
  }

  it('delivers every message to the other instances, not the sender, in order and with the server time', async () => {
    const ns = pgs.namespace()
    const [a, heardA] = await instance(ns, 'A')
    const [, heardB] = await instance(ns, 'B')
    const [, heardC] = await instance(ns, 'C')
    const before = Date.now()
    const sent: InvalidationMessage[] = [
      { selector: { key: 'k1' }, soft: false },
      { selector: { tags: ['t1', 't2'] }, soft: true },
      { selector: { prefix: '/teams/' }, soft: false },
    ]
    const started = Date.now()
    for (const message of sent) await a.publish(message)
    expect(await eventually(() => heardB.messages.length === 3 && heardC.messages.length === 3)).toBe(true)
    // A notice, not the one-second poll, brought them.
    expect(Date.now() - started).toBeLessThan(500)
    expect(heardB.messages.map(([m]) => m)).toEqual(sent)
    expect(heardC.messages.map(([m]) => m)).toEqual(sent)
    for (const [, at] of heardB.messages) expect(Math.abs(at - before)).toBeLessThan(5000)
    expect(heardA.messages).toEqual([])
    expect([...heardA.gaps, ...heardB.gaps]).toEqual([])
  })

  it('an instance whose listening connection is killed while another writes reads what it missed, without a gap', async () => {
    const ns = pgs.namespace()
    const [a] = await instance(ns, 'A')
    const [, heardB] = await instance(ns, 'B')
    await admin((client) =>
      client.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cistern-listen'",
      ),
    )
    for (let i = 0; i < 5; i++) await a.publish({ selector: { key: `k${i}` }, soft: false })
    expect(await eventually(() => heardB.messages.length === 5)).toBe(true)
    expect(heardB.messages.map(([m]) => (m.selector as { key: string }).key)).toEqual([
      'k0',
      'k1',
      'k2',
      'k3',
      'k4',
    ])
    expect(heardB.gaps).toEqual([])
  })

  it('messages trimmed away while an instance could not reach the server are a gap', async () => {
    const ns = pgs.namespace()
    await admin((client) => client.query('CREATE ROLE partitioned LOGIN SUPERUSER'))
    const [a] = await instance(ns, 'A')
    const [, heardB] = await instance(ns, 'B', 'partitioned')
    await a.publish({ selector: { key: 'seen' }, soft: false })
    expect(await eventually(() => heardB.messages.length === 1)).toBe(true)
    // B is cut off: it cannot log in, and its connections are gone.
    await admin(async (client) => {
      await client.query('ALTER ROLE partitioned NOLOGIN')
      await client.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'partitioned'",
      )
    })
    for (let i = 0; i < 3; i++) await a.publish({ selector: { key: `missed${i}` }, soft: false })
    await a.trim()
    await admin((client) => client.query('ALTER ROLE partitioned LOGIN'))
    expect(await eventually(() => heardB.gaps.length === 1, 8000)).toBe(true)
    expect(heardB.gaps[0]).toMatch(/trimmed/)
    // After the gap it reads on from the table's end.
    await a.publish({ selector: { key: 'after' }, soft: false })
    expect(
      await eventually(() => heardB.messages.some(([m]) => (m.selector as { key: string }).key === 'after')),
    ).toBe(true)
  })

  it('a bus table emptied and restarted behind an instance is a gap', async () => {
    const ns = pgs.namespace()
    const [a] = await instance(ns, 'A')
    const [, heardB] = await instance(ns, 'B')
    for (let i = 0; i < 3; i++) await a.publish({ selector: { key: `k${i}` }, soft: false })
    expect(await eventually(() => heardB.messages.length === 3)).toBe(true)
    await admin((client) => client.query(`TRUNCATE "${ns}".bus RESTART IDENTITY`))
    await a.publish({ selector: { key: 'new' }, soft: false })
    expect(await eventually(() => heardB.gaps.length === 1, 5000)).toBe(true)
  })
})
