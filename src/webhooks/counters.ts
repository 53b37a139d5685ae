/**
 * What the webhooks count, per webhook. The admin metrics read `snapshot()` (for example into a
 * Prometheus counter `cistern_webhook_deliveries_total{webhook, result}`).
 */
export type WebhookCounterName =
  /** Verified, stored, 2xx sent (actions follow). */
  | 'accepted'
  | 'duplicate'
  | 'unauthorized'
  | 'expired'
  | 'too_large'
  | 'invalid_json'
  | 'method_not_allowed'
  /** The event log refused a write: 500 for an accepted delivery (the sender retries). */
  | 'store_error'
  /** The sender went away before its body arrived. */
  | 'aborted'
  /** Action results: one per accepted event whose actions finished. */
  | 'acted'
  | 'ignored'
  | 'failed'

export interface WebhookCounterSample {
  webhook: string
  name: WebhookCounterName
  value: number
}

export class WebhookCounters {
  readonly #values = new Map<string, Map<WebhookCounterName, number>>()
  readonly #onIncrement: ((webhook: string, name: WebhookCounterName) => void) | undefined

  /** `onIncrement` hears every count (e.g. the admin recorder's webhookEvent); it must not throw. */
  constructor(onIncrement?: (webhook: string, name: WebhookCounterName) => void) {
    this.#onIncrement = onIncrement
  }

  inc(webhook: string, name: WebhookCounterName): void {
    let perHook = this.#values.get(webhook)
    if (!perHook) {
      perHook = new Map()
      this.#values.set(webhook, perHook)
    }
    perHook.set(name, (perHook.get(name) ?? 0) + 1)
    try {
      this.#onIncrement?.(webhook, name)
    } catch {
      // A metrics sink's failure must never turn into a failed delivery.
    }
  }

  get(webhook: string, name: WebhookCounterName): number {
    return this.#values.get(webhook)?.get(name) ?? 0
  }

  /** Every non-zero counter. */
  snapshot(): WebhookCounterSample[] {
    const out: WebhookCounterSample[] = []
    for (const [webhook, perHook] of this.#values) {
      for (const [name, value] of perHook) out.push({ webhook, name, value })
    }
    return out
  }
}
