import { Webhook } from 'standardwebhooks'
import type { NotifyConfig } from '../../config/types.js'
import { realTimers, type Timers } from '../../util/timers.js'
import type { ChangeEvent } from '../types.js'
import type { OutboxStore } from './outbox-store.js'
import { headersFor, payloadFor, type RenderContext, targetId } from './render.js'
import { Wakeup } from './wakeup.js'

export interface NotifyOptions {
  now?: () => number
  /** Time retry delays and idle waits on the `now` clock (default: real timers). */
  timers?: Timers
  /** First retry delay; doubles per attempt (with jitter) up to maxDelayMs. */
  baseDelayMs?: number
  maxDelayMs?: number
  /** A delivery still failing after this many attempts is dropped (and counted). */
  maxAttempts?: number
  timeoutMs?: number
}

export interface TargetStats {
  url: string
  kind: NotifyConfig['kind']
  pending: number
  delivered: number
  failedAttempts: number
  dropped: number
  lastError?: string
}

interface Target {
  id: string
  config: NotifyConfig
  webhook: Webhook | undefined
  wake: Wakeup
  stats: Omit<TargetStats, 'pending' | 'url' | 'kind'>
}

/** The signer for a target; a secret the spec's base64 form cannot decode is refused at start. */
function signer(config: NotifyConfig): Webhook {
  try {
    return new Webhook(config.secret!)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(
      `notify ${config.url}: secret must be a Standard Webhooks secret ("whsec_" + base64): ${reason}`,
    )
  }
}

/**
 * Delivers change events to the `notify` targets from the durable outbox: one worker per target,
 * oldest first, one delivery at a time (so a receiver sees events in order), retrying with
 * exponential backoff and honouring Retry-After. It runs beside the refresh loop and never blocks it:
 * enqueueing is a row insert inside the refresh's own transaction.
 */
export class Notifier {
  readonly #targets: Target[]
  readonly #outbox: OutboxStore
  readonly #now: () => number
  readonly #options: Required<Omit<NotifyOptions, 'now' | 'timers'>>
  readonly #abort = new AbortController()
  readonly #workers: Promise<void>[] = []
  #closed = false

  constructor(configs: readonly NotifyConfig[], outbox: OutboxStore, options: NotifyOptions = {}) {
    this.#outbox = outbox
    this.#now = options.now ?? Date.now
    const timers = options.timers ?? realTimers
    this.#options = {
      baseDelayMs: options.baseDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 10 * 60_000,
      maxAttempts: options.maxAttempts ?? 50,
      timeoutMs: options.timeoutMs ?? 10_000,
    }
    this.#targets = configs.map((config) => ({
      id: targetId(config),
      config,
      webhook: config.kind === 'standard-webhooks' && config.secret ? signer(config) : undefined,
      wake: new Wakeup(timers),
      stats: { delivered: 0, failedAttempts: 0, dropped: 0 },
    }))
    outbox.retain(this.#targets.map((t) => t.id))
  }

  /** Queue an event for every target that wants its route. Call inside the refresh's transaction. */
  enqueue(event: ChangeEvent, ctx: RenderContext): void {
    for (const t of this.#targets) {
      if (t.config.routes.length > 0 && !t.config.routes.includes(event.route)) continue
      t.stats.dropped += this.#outbox.enqueue(t.id, event.id, payloadFor(t.config, event, ctx), this.#now())
    }
  }

  /** Wake the workers (after the transaction that enqueued has committed). */
  kick(): void {
    for (const t of this.#targets) t.wake.wake()
  }

  start(): void {
    for (const t of this.#targets) this.#workers.push(this.#run(t))
  }

  stats(): TargetStats[] {
    return this.#targets.map((t) => ({
      url: t.config.url
        .replace(/\/\/[^/]*@/, '//')
        .replace(/(discord(?:app)?\.com\/api\/webhooks\/\d+\/).+/, '$1…'),
      kind: t.config.kind,
      pending: this.#closed ? 0 : this.#outbox.pending(t.id),
      ...t.stats,
    }))
  }

  /** Stop the workers; an attempt in flight is aborted and stays in the outbox for next start. */
  async close(): Promise<void> {
    this.#closed = true
    this.#abort.abort()
    for (const t of this.#targets) t.wake.wake()
    await Promise.allSettled(this.#workers)
  }

  async #run(t: Target): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#step(t)
      } catch (error) {
        // The outbox could not be read or written (a busy database): try again in a second.
        t.stats.lastError = error instanceof Error ? error.message : String(error)
        await t.wake.sleep(1000)
      }
    }
  }

  /** One turn of a target's worker: wait for the next due delivery, or attempt it. */
  async #step(t: Target): Promise<void> {
    const row = this.#outbox.head(t.id)
    const wait = row ? row.nextAt - this.#now() : Number.POSITIVE_INFINITY
    if (!row || wait > 0) {
      await t.wake.sleep(wait)
      return
    }
    const result = await this.#attempt(t, row.eventId, row.payload)
    if (this.#closed) return
    if (result.ok) {
      this.#outbox.done(row.seq)
      t.stats.delivered++
      return
    }
    t.stats.failedAttempts++
    t.stats.lastError = result.error
    const attempts = row.attempts + 1
    if (attempts >= this.#options.maxAttempts) {
      this.#outbox.done(row.seq)
      t.stats.dropped++
      return
    }
    const nextAt = this.#now() + this.#delay(attempts, result.retryAfterMs)
    this.#outbox.failed(row.seq, attempts, nextAt, result.error)
  }

  #delay(attempts: number, retryAfterMs: number | undefined): number {
    const { baseDelayMs, maxDelayMs } = this.#options
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1))
    // Full jitter on the upper half: receivers that come back are not hit by every sender at once.
    const jittered = exponential / 2 + Math.random() * (exponential / 2)
    return Math.max(jittered, Math.min(retryAfterMs ?? 0, maxDelayMs))
  }

  async #attempt(
    t: Target,
    eventId: string,
    payload: string,
  ): Promise<{ ok: true } | { ok: false; error: string; retryAfterMs?: number }> {
    try {
      const response = await fetch(t.config.url, {
        method: 'POST',
        headers: headersFor(t.config, t.webhook, eventId, payload, this.#now()),
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#options.timeoutMs)]),
      })
      await response.arrayBuffer().catch(() => undefined)
      if (response.status >= 200 && response.status < 300) return { ok: true }
      const retryAfter = Number(response.headers.get('retry-after'))
      return {
        ok: false,
        error: `HTTP ${response.status}`,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }),
      }
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) }
    }
  }
}
