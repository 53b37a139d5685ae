import { describe, expect, it } from 'vitest'
import { createBudget } from '../../src/upstream/budget/index.js'
import {
  Breaker,
  CallLog,
  type CallRecord,
  redactUrl,
  snapshotUpstream,
} from '../../src/upstream/health/index.js'

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

describe('redactUrl', () => {
  it('masks credential query parameters, case-insensitively, keeping the rest byte for byte', () => {
    expect(
      redactUrl('https://api.example.com/v1/teams?season=2024&API_KEY=s3cr3t&q=a%20b#top', ['api_key']),
    ).toBe('https://api.example.com/v1/teams?season=2024&API_KEY=REDACTED&q=a%20b#top')
  })

  it('can drop the parameters instead, and strips user:password@', () => {
    expect(redactUrl('https://user:pw@host.example/x?token=1&a=2&token=3', ['token'], { mask: false })).toBe(
      'https://host.example/x?a=2',
    )
    expect(redactUrl('https://host.example/x?token=1', ['token'], { mask: false })).toBe(
      'https://host.example/x',
    )
  })

  it('handles paths, encoded names and valueless params, and uses the default list', () => {
    expect(redactUrl('/v1/x?api%5Fkey=abc&key&b=1')).toBe('/v1/x?api%5Fkey=REDACTED&key=REDACTED&b=1')
    expect(redactUrl('/plain/path')).toBe('/plain/path')
    expect(redactUrl('/p?%zz=1&token=x', ['token'])).toBe('/p?%zz=1&token=REDACTED')
  })
})
