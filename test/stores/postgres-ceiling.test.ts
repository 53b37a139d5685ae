import { describe, expect, it } from 'vitest'
import type { BucketRate } from '../../src/stores/coordination.js'
import { createPostgresCeiling } from '../../src/stores/postgres/ceiling.js'
import { Heartbeat } from '../../src/stores/postgres/heartbeat.js'
import { postgresBin, usePostgres } from './postgres-support.js'

describe.skipIf(!postgresBin)('postgres shared ceiling', () => {
  const pgs = usePostgres()

  function pair() {
    const namespace = pgs.namespace()
    const a = pgs.connect({ namespace })
    const b = pgs.connect({ namespace })
    const beatA = new Heartbeat(a, 'A', { everyMs: 100_000 })
    const beatB = new Heartbeat(b, 'B', { everyMs: 100_000 })
    return { beatA, beatB, a: createPostgresCeiling(a, beatA), b: createPostgresCeiling(b, beatB) }
  }

  const rate: BucketRate = { intervalMs: 200, burst: 3, reserve: 2 }

  it('grants the burst across instances, then one permit per interval', async () => {
    const { a, b } = pair()
    const granted = []
    for (let i = 0; i < 3; i++) granted.push((await (i % 2 ? b : a).take('up', rate, 'foreground')).granted)
    expect(granted).toEqual([true, true, true])
    const denied = await b.take('up', rate, 'foreground')
    expect(denied.granted).toBe(false)
    const retry = denied.granted ? 0 : denied.retryInMs
    // One interval after the first grant, less the time the takes took.
    expect(retry).toBeGreaterThan(0)
    expect(retry).toBeLessThanOrEqual(200)
    await new Promise((resolve) => setTimeout(resolve, retry + 20))
    expect((await a.take('up', rate, 'foreground')).granted).toBe(true)
    expect((await b.take('up', rate, 'foreground')).granted).toBe(false)
    // Buckets are independent.
    expect((await b.take('other', rate, 'foreground')).granted).toBe(true)
  })

  it('holds 1000 concurrent takes from two instances to the burst', async () => {
    const { a, b } = pair()
    const slow: BucketRate = { intervalMs: 60_000, burst: 5, reserve: 0 }
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).take('race', slow, 'foreground')),
    )
    expect(results.filter((result) => result.granted)).toHaveLength(5)
  })

  it('keeps the reserve from the background lane', async () => {
    const { a } = pair()
    expect((await a.take('bg', rate, 'background')).granted).toBe(true)
    expect((await a.take('bg', rate, 'background')).granted).toBe(false)
    expect((await a.take('bg', rate, 'foreground')).granted).toBe(true)
    expect((await a.take('bg', rate, 'foreground')).granted).toBe(true)
    expect((await a.take('bg', rate, 'foreground')).granted).toBe(false)
  })

  it('a pause grants nothing on any instance until it ends, and a shorter one never shortens it', async () => {
    const { a, b } = pair()
    await a.pause('p', 600, 'upstream 429 (Retry-After)')
    await b.pause('p', 50, 'shorter')
    const result = await b.take('p', rate, 'foreground')
    expect(result).toMatchObject({ granted: false, pausedFor: 'upstream 429 (Retry-After)' })
    expect(result.granted ? 0 : result.retryInMs).toBeGreaterThan(400)
    await new Promise((resolve) => setTimeout(resolve, 650))
    expect((await b.take('p', rate, 'foreground')).granted).toBe(true)
  })

  it('counts the live instances by their heartbeats', async () => {
    const { beatA, beatB, a } = pair()
    expect(a.liveInstances()).toBe(1)
    await beatA.beat()
    await beatB.beat()
    await beatA.beat()
    expect(a.liveInstances()).toBe(2)
    await beatB.stop()
    await beatA.beat()
    expect(a.liveInstances()).toBe(1)
  })
})
