import type { WebhookConfig } from '../config/types.js'
import { CLOSE_CONNECTION } from '../util/http-body.js'
import type { WebhookCounters } from './counters.js'
import { ReplayGuard, replayKey } from './replay.js'
import { errorReply, type Reply } from './respond.js'
import type { EventStore, NewEvent } from './store/event-store.js'
import type { WebhookLogger } from './types.js'
import type { HeaderMap, Verifier } from './verify/verifier.js'

/** A verified, stored delivery whose actions are to run. */
export interface Accepted {
  id: number
  hook: WebhookConfig
  /** What makes two deliveries the same (replayKey): acted on once across instances too. */
  deliveryId: string | undefined
  body: unknown
  headers: HeaderMap
  params: Record<string, string>
  /** A resumed event whose act-once claim this instance won before a stop (WebhookEvent.claimedAt). */
  claimed?: boolean
}

export interface ReceiverDeps {
  store: EventStore
  counters: WebhookCounters
  logger: WebhookLogger
  now: () => number
  verifierFor: (hook: WebhookConfig) => Verifier
  /** Told after every write to the log (the owner prunes it every so many). */
  onAppend?: () => void
}

/** Headers never kept in the log: signatures and credentials. */
const UNKEPT = ['authorization', 'proxy-authorization', 'cookie', 'webhook-signature', 'stripe-signature']
const utf8 = new TextDecoder('utf-8', { fatal: true })

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined
}
const short = (value: unknown) =>
  typeof value === 'string' && value !== '' ? value.slice(0, 200) : undefined

/** The sender's event type: TBA's message_type, Stripe's and Standard Webhooks' type, GitHub's header. */
function typeOf(body: unknown, headers: HeaderMap): string | undefined {
  return short(field(body, 'message_type')) ?? short(field(body, 'type')) ?? short(headers['x-github-event'])
}

/**
 * The decision for one delivery, from its exact bytes: verify, parse, check for a replay, store.
 * Synchronous from the replay check to the durable write, so concurrent copies of one delivery
 * cannot both be accepted. Never throws for anything a sender controls.
 */
export class Receiver {
  readonly #deps: ReceiverDeps
  readonly #guard: ReplayGuard

  constructor(deps: ReceiverDeps) {
    this.#deps = deps
    this.#guard = new ReplayGuard(deps.store)
  }

  receive(
    hook: WebhookConfig,
    raw: Buffer,
    headers: HeaderMap,
    params: Record<string, string>,
  ): { reply: Reply; accepted?: Accepted } {
    const { counters, now } = this.#deps
    const receivedAt = now()
    const base = { webhook: hook.name, receivedAt, size: raw.byteLength }
    const verdict = this.#deps.verifierFor(hook)(raw, headers, receivedAt)
    if (!verdict.ok) {
      this.#record({ ...base, verified: false, outcome: verdict.outcome, reason: verdict.reason })
      this.#deps.logger.debug({ webhook: hook.name, reason: verdict.reason }, 'webhook delivery refused')
      counters.inc(hook.name, verdict.outcome)
      const code = verdict.outcome === 'expired' ? 'signature_expired' : 'invalid_signature'
      return { reply: errorReply(401, code, verdict.reason) }
    }
    let body: unknown
    try {
      body = JSON.parse(utf8.decode(raw))
    } catch (error) {
      const reason = `body is not UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`
      this.#record({ ...base, verified: true, outcome: 'invalid_json', reason })
      counters.inc(hook.name, 'invalid_json')
      return { reply: errorReply(400, 'invalid_json', reason) }
    }
    const deliveryId = replayKey(hook.verify.scheme, verdict, body, raw)
    const type = typeOf(body, headers)
    const described = { ...base, verified: true, deliveryId, ...(type && { type }) }
    const original = this.#guard.seen(hook.name, deliveryId, receivedAt, hook.replayWindow)
    if (original !== undefined) {
      const id = this.#record({ ...described, outcome: 'duplicate', duplicateOf: original })
      counters.inc(hook.name, 'duplicate')
      return { reply: { status: 200, body: { received: true, duplicate: true, id, duplicateOf: original } } }
    }
    const verificationKey =
      field(body, 'message_type') === 'verification'
        ? short(field(field(body, 'message_data'), 'verification_key'))
        : undefined
    const kept: Record<string, string> = {}
    for (const [name, value] of Object.entries(headers)) {
      if (name !== hook.verify.header && !UNKEPT.includes(name)) kept[name] = value
    }
    let id: number
    try {
      id = this.#deps.store.append({
        ...described,
        outcome: 'pending',
        headers: kept,
        params,
        raw,
        body,
        ...(verificationKey && { verificationKey }),
      })
      this.#deps.onAppend?.()
    } catch (error) {
      counters.inc(hook.name, 'store_error')
      this.#deps.logger.error({ webhook: hook.name, err: error }, 'webhook event could not be stored')
      return { reply: errorReply(500, 'internal_error', 'the event could not be stored; retry later') }
    }
    counters.inc(hook.name, 'accepted')
    if (verificationKey) {
      // A person has to paste this key into The Blue Alliance's account page to activate the webhook.
      this.#deps.logger.warn(
        { webhook: hook.name, event: id, verificationKey },
        `TBA webhook verification: enter key ${verificationKey} on thebluealliance.com/account to activate ${hook.path}`,
      )
    }
    return {
      reply: { status: 200, body: { received: true, id } },
      accepted: { id, hook, deliveryId, body, headers, params },
    }
  }

  /** A delivery refused before its body was read in full. */
  tooLarge(hook: WebhookConfig, size: number): Reply {
    const reason = `body is over ${hook.maxBodySize} bytes`
    this.#record({
      webhook: hook.name,
      receivedAt: this.#deps.now(),
      size,
      verified: false,
      outcome: 'too_large',
      reason,
    })
    this.#deps.counters.inc(hook.name, 'too_large')
    return errorReply(413, 'body_too_large', reason, { ...CLOSE_CONNECTION })
  }

  /** Log a delivery that gets no action; a failing log never changes the answer. */
  #record(event: NewEvent): number | undefined {
    try {
      const id = this.#deps.store.append(event)
      this.#deps.onAppend?.()
      return id
    } catch (error) {
      this.#deps.counters.inc(event.webhook, 'store_error')
      this.#deps.logger.error({ webhook: event.webhook, err: error }, 'webhook event could not be logged')
      return undefined
    }
  }
}
