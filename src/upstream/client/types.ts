import type { Budget, Lane } from '../budget/types.js'
import type { Breaker } from '../health/breaker.js'
import type { CallLog } from '../health/call-log.js'
import type { AuthSpec } from './auth.js'
import type { RawResponse } from './transport.js'

export interface UpstreamTimeouts {
  connect: number
  headers: number
  /** Longest silence while the body streams in. */
  body: number
  /** One foreground request from first asking for a permit to the last body byte, retries included. */
  total: number
}

export interface UpstreamClientOptions {
  name: string
  url: string
  auth: AuthSpec
  timeouts: UpstreamTimeouts
  maxResponseSize: number
  /** Keep-alive connections to the upstream (undici Pool size). */
  connections?: number
  budget?: Budget
  /** Longest wait for a budget permit per lane, ms (default 3 s foreground, 60 s background). */
  maxWait?: { foreground: number; background: number }
  /** Retries of idempotent calls and the base of their jittered backoff (default 2 and 250 ms). */
  retries?: { max: number; backoffMs: number }
  /** Statuses besides 429 that pause the key that got them (upstream `pauseOn`). */
  pauseOn?: readonly number[]
  breaker?: Breaker
  log?: CallLog
  /** The budget and breaker clock. Timeouts and backoff sleeps are real time whatever this says. */
  now?: () => number
  random?: () => number
}

export interface UpstreamRequest {
  method: string
  /** Path relative to the upstream base, starting with '/', params already URL-encoded. */
  path: string
  query?: URLSearchParams
  headers?: Record<string, string>
  body?: Buffer
  lane: Lane
  signal?: AbortSignal
  /** `json`: a 2xx (other than 204) whose body is not JSON is a failure. Default `any`. */
  expect?: 'json' | 'any'
  /** Retries for this call instead of the upstream's `retries.max` (idempotent methods only). */
  retries?: number
  /**
   * The caller is an HTTP intermediary that hands a 5xx answer on as the upstream's answer (routes
   * where the upstream decides): such an answer still throws UpstreamFailure (with the response) and
   * counts against the breaker as any 5xx does, but is not retried.
   */
  relayServerErrors?: boolean
}

export interface UpstreamResponse extends RawResponse {
  /** The whole request: waits for permits, retries and backoff included. */
  durationMs: number
  keyIndex: number
  attempts: number
}
