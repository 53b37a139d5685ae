import { describe, expect, it } from 'vitest'
import { BudgetExceededError } from '../../src/upstream/budget/index.js'
import { classifyError, classifyResponse } from '../../src/upstream/health/index.js'

const now = Date.UTC(2026, 10, 21, 12, 0, 0)
const half = () => 0.5

describe('classifyResponse', () => {
  it('429 with Retry-After pauses the key for that long; breaker-wise the upstream is up', () => {
    const verdict = classifyResponse(429, { 'Retry-After': '3' }, { now })
    expect(verdict).toMatchObject({
      outcome: 'rate-limited',
      breaker: 'success',
      retryable: true,
      retryAfterMs: 3000,
      pause: { scope: 'key', ms: 3000, fromHeader: true },
    })
  })

  it('429 without Retry-After pauses the key with growing, jittered backoff', () => {
    const first = classifyResponse(429, {}, { now, random: half })
    const third = classifyResponse(429, {}, { now, random: half, attempt: 3 })
    expect(first.pause).toMatchObject({ scope: 'key', ms: 750, fromHeader: false })
    expect(third.pause?.ms).toBe(3000)
  })

  it('caps pauses at maxPauseMs', () => {
    const verdict = classifyResponse(429, { 'retry-after': '86400' }, { now, maxPauseMs: 3_600_000 })
    expect(verdict.pause?.ms).toBe(3_600_000)
  })

  it('configured statuses (403 invalid IP) pause the key', () => {
    const verdict = classifyResponse(403, undefined, {
      now,
      keyRejectStatuses: [403],
      keyRejectPauseMs: 300_000,
    })
    expect(verdict).toMatchObject({ outcome: 'key-rejected', pause: { scope: 'key', ms: 300_000 } })
    expect(classifyResponse(403, undefined, { now })).toMatchObject({
      outcome: 'client-error',
      breaker: 'success',
    })
  })

  it('503 with Retry-After (HTTP-date) pauses the upstream and counts as a failure', () => {
    const headers = new Headers({ 'retry-after': 'Sat, 21 Nov 2026 12:00:10 GMT' })
    expect(classifyResponse(503, headers, { now })).toMatchObject({
      outcome: 'unavailable',
      breaker: 'failure',
      retryable: true,
      pause: { scope: 'upstream', ms: 10_000, fromHeader: true },
    })
    expect(classifyResponse(503, {}, { now }).pause).toBeUndefined()
  })

  it('5xx is a breaker failure; 2xx, 3xx and other 4xx are successes', () => {
    expect(classifyResponse(500, {}, { now })).toMatchObject({
      outcome: 'server-error',
      breaker: 'failure',
      retryable: true,
    })
    expect(classifyResponse(501, {}, { now })).toMatchObject({ breaker: 'failure', retryable: false })
    expect(classifyResponse(200, {}, { now })).toEqual({
      outcome: 'ok',
      breaker: 'success',
      retryable: false,
    })
    expect(classifyResponse(304, {}, { now }).outcome).toBe('ok')
    expect(classifyResponse(404, {}, { now })).toMatchObject({
      outcome: 'client-error',
      breaker: 'success',
      retryable: false,
    })
  })

  it('a 200 whose body is not what the route expects is a failure', () => {
    expect(classifyResponse(200, {}, { now, invalidBody: true })).toMatchObject({
      outcome: 'bad-response',
      breaker: 'failure',
    })
  })
})

describe('classifyError', () => {
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code })

  it('timeouts and transport errors count against the upstream', () => {
    expect(classifyError(coded('UND_ERR_HEADERS_TIMEOUT'))).toMatchObject({
      outcome: 'timeout',
      breaker: 'failure',
    })
    expect(classifyError(new DOMException('t', 'TimeoutError'))).toMatchObject({ outcome: 'timeout' })
    expect(classifyError(coded('ECONNREFUSED'))).toMatchObject({ outcome: 'network', retryable: true })
    expect(classifyError(new Error('weird'))).toMatchObject({ outcome: 'network', breaker: 'failure' })
    expect(classifyError(coded('E_UPSTREAM_BAD_RESPONSE'))).toMatchObject({ outcome: 'bad-response' })
  })

  it('looks through the cause chain; budget refusals and aborts are neutral', () => {
    const wrapped = Object.assign(new Error('upstream unavailable'), {
      code: 'E_UPSTREAM_UNAVAILABLE',
      cause: new BudgetExceededError('foreground', 100, 'rate'),
    })
    expect(classifyError(wrapped)).toEqual({ outcome: 'budget', breaker: 'neutral', retryable: false })
    const aborted = new Error('request failed', { cause: new DOMException('gone', 'AbortError') })
    expect(classifyError(aborted)).toMatchObject({ outcome: 'aborted', breaker: 'neutral' })
    const timeout = new Error('x', { cause: coded('UND_ERR_CONNECT_TIMEOUT') })
    expect(classifyError(timeout).outcome).toBe('timeout')
  })
})
