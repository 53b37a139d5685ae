import { describe, expect, it } from 'vitest'
import { createBudget } from '../../src/upstream/budget/index.js'
import { Breaker, CallLog, type CallRecord, snapshotUpstream } from '../../src/upstream/health/index.js'

const record = (i: number): CallRecord => ({
  at: i,
  method: 'GET',
  url: `/teams/${i}`,
  status: 200,
  durationMs: 5,
  lane: 'foreground',
  keyIndex: 0,
  outcome: 'ok',
})

describe('CallLog', () => {
  it('keeps the newest `capacity` records, oldest first', () => {
    const log = new CallLog(3)
    for (let i = 1; i <= 5; i++) log.add(record(i))
    expect(log.size).toBe(3)
    expect(log.entries().map((r) => r.at)).toEqual([3, 4, 5])
    expect(log.entries(2).map((r) => r.at)).toEqual([4, 5])
    log.clear()
    expect(log.entries()).toEqual([])
  })

  it('defaults to 200 records', () => {
    const log = new CallLog()
    for (let i = 0; i < 1000; i++) log.add(record(i))
    expect(log.entries()).toHaveLength(200)
    expect(log.entries()[0]!.at).toBe(800)
    expect(() => new CallLog(0)).toThrow(RangeError)
  })

  it('snapshotUpstream gathers breaker, budget and recent calls', () => {
    const log = new CallLog(10)
    log.add(record(1))
    const snap = snapshotUpstream('ftc', {
      breaker: new Breaker({ now: () => 0 }),
      budget: createBudget({ rate: '10/s', now: () => 0 }),
      log,
    })
    expect(snap).toMatchObject({
      name: 'ftc',
      breaker: { state: 'UP' },
      budget: { per: 'upstream' },
      recentCalls: [{ at: 1 }],
    })
  })
})
