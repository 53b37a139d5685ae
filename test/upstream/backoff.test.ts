import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelay, isRetryableMethod, shouldRetry } from '../../src/upstream/health/index.js'

describe('backoffDelay', () => {
  const options = { baseMs: 100, maxMs: 5000 }

  it('stays within [0, min(max, base × 2^(attempt − 1))) with full jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r) => {
          const delay = backoffDelay(attempt, options, () => r)
          const ceiling = Math.min(5000, 100 * 2 ** (attempt - 1))
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThan(ceiling)
          expect(Number.isInteger(delay)).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('doubles the ceiling per attempt up to the max', () => {
    const top = () => 0.999999
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, options, top))).toEqual([
      99, 199, 399, 799, 1599, 3199, 4999,
    ])
    expect(backoffDelay(1, options, () => 0)).toBe(0)
  })

  it('equal jitter never goes below half the ceiling', () => {
    expect(backoffDelay(3, { ...options, jitter: 'equal' }, () => 0)).toBe(200)
    expect(backoffDelay(50, { ...options, jitter: 'equal' }, () => 0)).toBe(2500)
  })
})

describe('shouldRetry', () => {
  const window = { now: 1000, deadlineMs: 5000 }

  it('retries only GET, HEAD and OPTIONS', () => {
    expect(['GET', 'head', 'OPTIONS'].every(isRetryableMethod)).toBe(true)
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(isRetryableMethod(method)).toBe(false)
      expect(shouldRetry(method, 1, 503, window)).toBe(false)
    }
  })

  it('retries retryable statuses and errors, not client errors or aborts', () => {
    for (const status of [408, 429, 500, 502, 503, 504])
      expect(shouldRetry('GET', 1, status, window)).toBe(true)
    for (const status of [400, 401, 404, 501]) expect(shouldRetry('GET', 1, status, window)).toBe(false)
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    expect(shouldRetry('GET', 1, refused, window)).toBe(true)
    expect(shouldRetry('GET', 1, new DOMException('aborted', 'AbortError'), window)).toBe(false)
  })

  it('stays inside the deadline and the attempt limit', () => {
    expect(shouldRetry('GET', 1, 503, { ...window, delayMs: 3999 })).toBe(true)
    expect(shouldRetry('GET', 1, 503, { ...window, delayMs: 4000 })).toBe(false)
    expect(shouldRetry('GET', 1, 503, { now: 5000, deadlineMs: 5000 })).toBe(false)
    expect(shouldRetry('GET', 2, 503, window)).toBe(true)
    expect(shouldRetry('GET', 3, 503, window)).toBe(false)
    expect(shouldRetry('GET', 3, 503, { ...window, maxAttempts: 5 })).toBe(true)
  })
})
