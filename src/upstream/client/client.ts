import { setTimeout as sleep } from 'node:timers/promises'
import { redactUrl } from '../../util/redact.js'
import { BudgetExceededError } from '../budget/errors.js'
import type { Permit } from '../budget/types.js'
import { backoffDelay } from '../health/backoff.js'
import type { Verdict } from '../health/outcome.js'
import { isRetryableMethod, shouldRetry } from '../health/retry.js'
import type { UpstreamSnapshot } from '../health/snapshot.js'
import { applyAuth, keyCount, secretQueryParams } from './auth.js'
import { UpstreamFailure } from './failure.js'
import { UpstreamHealth } from './health.js'
import { type Judgement, judgeError, judgeResponse } from './judge.js'
import { OAuth2Token } from './oauth2.js'
import { joinUnderBase, parseBase, type UpstreamBase } from './target-url.js'
import { type RawResponse, Transport } from './transport.js'
import type { UpstreamClientOptions, UpstreamRequest, UpstreamResponse } from './types.js'

export type { UpstreamClientOptions, UpstreamRequest, UpstreamResponse, UpstreamTimeouts } from './types.js'

type Attempt =
  | { response: RawResponse; keyIndex: number; accessToken: string | undefined }
  | { failure: UpstreamFailure; verdict: Verdict }

/**
 * One upstream. `request` answers with a usable response or throws UpstreamFailure, and in between:
 * asks the breaker (DOWN fails at once), takes a budget permit within the lane's wait (never sends
 * over the limit), sends over a keep-alive pool with connect, headers, body and total timeouts,
 * judges the answer (429 and `pauseOn` pause the key, 503 with Retry-After the upstream, 5xx and
 * non-JSON count against the breaker), logs the call, and retries idempotent calls with jittered
 * backoff inside the deadline. Only the configured base is ever contacted.
 */
export class UpstreamClient {
  readonly name: string
  readonly base: UpstreamBase
  readonly health: UpstreamHealth
  readonly #options: UpstreamClientOptions
  readonly #transport: Transport
  readonly #now: () => number
  readonly #maxWait: { foreground: number; background: number }
  readonly #retries: { max: number; backoffMs: number }
  readonly #secretParams: string[]
  /** The OAuth 2.0 access token source, when the upstream's auth is oauth2. */
  readonly #oauth2: OAuth2Token | undefined
  #nextKey = 0

  constructor(options: UpstreamClientOptions) {
    this.name = options.name
    this.base = parseBase(options.url)
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#maxWait = options.maxWait ?? { foreground: 3000, background: 60_000 }
    this.#retries = options.retries ?? { max: 2, backoffMs: 250 }
    this.#secretParams = secretQueryParams(options.auth)
    this.#transport = new Transport({
      origin: this.base.origin,
      connectMs: options.timeouts.connect,
      headersMs: options.timeouts.headers,
      bodyMs: options.timeouts.body,
      maxResponseSize: options.maxResponseSize,
      ...(options.connections !== undefined && { connections: options.connections }),
    })
    this.#oauth2 =
      options.auth?.kind === 'oauth2'
        ? new OAuth2Token(options.auth, {
            upstream: options.name,
            now: this.#now,
            timeouts: options.timeouts,
          })
        : undefined
    this.health = new UpstreamHealth({
      name: options.name,
      url: redactUrl(options.url, this.#secretParams),
      now: this.#now,
      ...(options.breaker && { breaker: options.breaker }),
      ...(options.log && { log: options.log }),
      ...(options.budget && { budget: options.budget }),
    })
  }

  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    // Refuse a path outside the base before spending anything on it.
    joinUnderBase(this.base, request.path, new URLSearchParams())
    const method = request.method.toUpperCase()
    const started = performance.now()
    // Background work has nobody waiting, so it may queue for a permit before its `total` starts.
    const extra = request.lane === 'background' ? this.#maxWait.background : 0
    const deadline = started + this.#options.timeouts.total + extra
    const maxAttempts = isRetryableMethod(method) ? 1 + (request.retries ?? this.#retries.max) : 1
    let last: UpstreamFailure | undefined
    let renewedToken = false
    for (let attempt = 1; ; attempt++) {
      const result = await this.#attempt(request, method, deadline, last)
      if ('response' in result && result.response.status === 401 && result.accessToken && !renewedToken) {
        // An expired or revoked token: fetch a new one and try once more, whatever the method (the
        // upstream refused the call before acting on it). Not a retry: it spends no retry budget.
        renewedToken = true
        this.#oauth2!.reject(result.accessToken)
        attempt--
        continue
      }
      if ('response' in result) {
        const durationMs = performance.now() - started
        return { ...result.response, keyIndex: result.keyIndex, durationMs, attempts: attempt }
      }
      last = result.failure
      const delayMs = backoffDelay(
        attempt,
        { baseMs: this.#retries.backoffMs, maxMs: 30_000 },
        this.#options.random,
      )
      const window = { now: performance.now(), deadlineMs: deadline, delayMs, maxAttempts }
      if (!shouldRetry(method, attempt, result.verdict, window)) throw last
      try {
        await sleep(delayMs, undefined, request.signal ? { signal: request.signal } : {})
      } catch {
        throw last
      }
    }
  }

  snapshot(recentCalls?: number): UpstreamSnapshot {
    return this.health.snapshot(recentCalls)
  }

  async close(): Promise<void> {
    await Promise.all([this.#transport.close(), this.#oauth2?.close()])
  }

  /** One call, from the breaker to the judged answer. `last`: the previous attempt's failure. */
  async #attempt(
    request: UpstreamRequest,
    method: string,
    deadline: number,
    last?: UpstreamFailure,
  ): Promise<Attempt> {
    let probe: boolean
    try {
      probe = this.health.gate().probe
    } catch (error) {
      // A retry stopped by the breaker: the caller learns what really went wrong.
      throw last ?? error
    }
    let accessToken: string | undefined
    try {
      // Before the permit: a slow token endpoint must not hold one of the upstream's slots.
      accessToken = await this.#oauth2?.get()
    } catch (error) {
      // No token, no call: shown as the upstream's last error (GET /upstreams), not held against its breaker.
      const failure = error instanceof UpstreamFailure ? error : undefined
      this.health.notSent(
        probe,
        false,
        failure && {
          message: failure.message,
          ...(failure.status !== undefined && { status: failure.status }),
        },
      )
      throw last ?? error
    }
    const permit = await this.#permit(request, deadline, probe, last)
    let path: string
    let headers: Record<string, string>
    try {
      ;({ path, headers } = this.#target(request, permit.keyIndex, accessToken))
    } catch (error) {
      permit.release()
      this.health.notSent(probe, false)
      throw error
    }
    const sendBy = Math.min(deadline, performance.now() + this.#options.timeouts.total)
    const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(sendBy - performance.now())))
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout
    const sentAt = this.#now()
    const sent = performance.now()
    let response: RawResponse | undefined
    let judgement: Judgement
    try {
      response = await this.#transport.send({ method, path, headers, body: request.body, signal })
      judgement = judgeResponse(response, {
        upstream: this.name,
        method,
        now: this.#now(),
        expectJson: request.expect === 'json',
        keyRejectStatuses: (this.#options.pauseOn ?? []).filter((status) => status !== 429),
        rateLimitStreak: this.health.streak(permit.keyIndex),
        ...(this.#options.random && { random: this.#options.random }),
      })
    } catch (error) {
      const callerAborted = request.signal?.aborted === true
      judgement = judgeError(error, { upstream: this.name, timedOut: timeout.aborted, callerAborted })
    }
    const verdict = judgement.verdict
    // Relaying the answer changes who sees it, not what it says of the upstream: a load balancer
    // answering 502/503 steadily must still open the breaker. Only the retry goes (the client gets
    // the upstream's answer to its one request).
    if (
      request.relayServerErrors &&
      (verdict.outcome === 'server-error' || verdict.outcome === 'unavailable') &&
      response &&
      !verdict.pause
    )
      judgement = { ...judgement, verdict: { ...verdict, retryable: false } }
    // Settle before releasing: a 429's pause must be in force before the freed slot lets the next
    // waiter onto the same key.
    try {
      this.health.settle({
        verdict: judgement.verdict,
        error: judgement.failure?.message,
        status: response?.status,
        keyIndex: permit.keyIndex,
        lane: request.lane,
        method,
        url: redactUrl(`${this.base.origin}${path}`, this.#secretParams),
        sentAt,
        durationMs: performance.now() - sent,
        probe,
      })
    } finally {
      permit.release()
    }
    if (judgement.failure || !response) {
      return { failure: judgement.failure ?? this.#unexpected(), verdict: judgement.verdict }
    }
    return { response, keyIndex: permit.keyIndex, accessToken }
  }

  /** A permit within the lane's wait (the probe never waits long: everyone else is refused meanwhile). */
  async #permit(request: UpstreamRequest, deadline: number, probe: boolean, last?: UpstreamFailure) {
    const budget = this.#options.budget
    if (!budget) return this.#unbudgeted()
    const lane = request.lane
    const waitMs = Math.min(this.#maxWait[probe ? 'foreground' : lane], deadline - performance.now())
    try {
      return await budget.acquire({
        lane,
        deadlineMs: this.#now() + Math.max(0, waitMs),
        ...(request.signal && { signal: request.signal }),
      })
    } catch (error) {
      const refused = error instanceof BudgetExceededError
      this.health.notSent(probe, refused)
      if (last) throw last
      const retryAfterMs = refused ? error.retryAfterMs : undefined
      const message = refused
        ? `no permit in time: ${error.message}`
        : `not sent: ${error instanceof Error ? error.message : String(error)}`
      throw new UpstreamFailure(this.name, 'unavailable', message, {
        cause: error,
        ...(retryAfterMs !== undefined && { retryAfterMs }),
        ...(refused && { shown: `budget: no permit in time (${error.reason})` }),
      })
    }
  }

  /** The path with query and the headers for one key of the pool (its credential applied). */
  #target(
    request: UpstreamRequest,
    keyIndex: number,
    accessToken: string | undefined,
  ): { path: string; headers: Record<string, string> } {
    const query = new URLSearchParams(request.query)
    const headers: Record<string, string> = { 'accept-encoding': 'gzip, br', ...request.headers }
    applyAuth(this.#options.auth, keyIndex, headers, query, accessToken)
    return { path: joinUnderBase(this.base, request.path, query), headers }
  }

  #unexpected(): UpstreamFailure {
    return new UpstreamFailure(this.name, 'bad-response', 'no response and no error')
  }

  #unbudgeted(): Permit {
    const keyIndex = this.#nextKey++ % keyCount(this.#options.auth)
    return { keyIndex, lane: 'foreground', grantedAt: this.#now(), release() {} }
  }
}
