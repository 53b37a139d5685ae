import { createHash } from 'node:crypto'
import type { VerifyScheme } from '../config/types.js'
import type { EventStore } from './store/event-store.js'
import type { VerifyResult } from './verify/verifier.js'

const EVENT_ID = /^[\x21-\x7e]{1,256}$/

/**
 * What makes two deliveries "the same" for replay protection. Only signed data counts, or an
 * attacker could replay a captured delivery under a fresh id:
 * - standard-webhooks: the signed `webhook-id`;
 * - stripe: the event id in the (signed) body, so Stripe's retries of one event, each with a new
 *   timestamp and signature, are recognised; else the matching signature;
 * - hmac-sha256: the body digest (GitHub's X-GitHub-Delivery is not signed, TBA sends no id).
 */
export function replayKey(
  scheme: VerifyScheme,
  verdict: Extract<VerifyResult, { ok: true }>,
  body: unknown,
  raw: Buffer,
): string {
  if (verdict.id !== undefined) return `id:${verdict.id}`
  if (scheme === 'stripe') {
    const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined
    if (typeof id === 'string' && EVENT_ID.test(id)) return `id:${id}`
    if (verdict.signature !== undefined) return `v1:${verdict.signature}`
  }
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`
}

/**
 * The replay guard: has this webhook already accepted this delivery inside the window? Backed by
 * the event log itself, so the answer survives a restart and needs no second store; the check
 * and the write that follows run in one synchronous stretch, so two concurrent copies cannot both
 * pass.
 */
export class ReplayGuard {
  readonly #store: EventStore
  constructor(store: EventStore) {
    this.#store = store
  }

  /** The id of the earlier accepted delivery, or undefined when this one is new. */
  seen(webhook: string, key: string, now: number, window: number): number | undefined {
    if (window <= 0) return undefined
    return this.#store.findDelivery(webhook, key, now - window)
  }
}
