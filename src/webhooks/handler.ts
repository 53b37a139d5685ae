import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { decodeParams } from '../config/path-pattern.js'
import type { WebhookConfig } from '../config/types.js'
import type { ExtraHandler } from '../gateway/server/context.js'
import { readBody } from '../util/http-body.js'
import type { WebhookCounters } from './counters.js'
import type { Accepted, Receiver } from './receive.js'
import { errorReply, sendReply } from './respond.js'
import type { WebhookLogger } from './types.js'
import type { HeaderMap } from './verify/verifier.js'

export interface HandlerDeps {
  hooks: readonly WebhookConfig[]
  receiver: Receiver
  counters: WebhookCounters
  logger: WebhookLogger
  /** Called after the reply is written: actions never hold up the sender's 2xx. */
  onAccepted: (accepted: Accepted) => void
  /** False once the event log is closed: deliveries then get 503 (the sender retries). */
  isOpen: () => boolean
}

/** Lower-case names (as node gives them), repeated values joined with ", ". */
export function headerMap(headers: IncomingHttpHeaders): HeaderMap {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

/**
 * The gateway's extra handler for webhook paths: POST only; the body is read as bytes up to the
 * limit (a declared Content-Length over it is refused before reading), then handed to the
 * Receiver; its reply is written, and only then do the actions start.
 */
export function createWebhookHandler(deps: HandlerDeps): ExtraHandler {
  async function serve(
    hook: WebhookConfig,
    params: Record<string, string>,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    if (req.method !== 'POST') {
      deps.counters.inc(hook.name, 'method_not_allowed')
      sendReply(
        res,
        errorReply(405, 'method_not_allowed', `${req.method} is not allowed here; webhooks are POSTed`, {
          allow: 'POST',
        }),
      )
      return
    }
    if (!deps.isOpen()) {
      sendReply(res, errorReply(503, 'unavailable', 'cistern is shutting down', { 'retry-after': '5' }))
      return
    }
    const read = await readBody(req, hook.maxBodySize)
    if (read.kind === 'aborted') {
      deps.counters.inc(hook.name, 'aborted')
      return
    }
    if (read.kind === 'too-large') {
      sendReply(res, deps.receiver.tooLarge(hook, read.size))
      return
    }
    if (!deps.isOpen()) {
      sendReply(res, errorReply(503, 'unavailable', 'cistern is shutting down', { 'retry-after': '5' }))
      return
    }
    const { reply, accepted } = deps.receiver.receive(hook, read.body, headerMap(req.headers), params)
    sendReply(res, reply)
    if (accepted) deps.onAccepted(accepted)
  }

  return (req, res, path) => {
    for (const hook of deps.hooks) {
      const params = hook.pattern.match(path)
      if (params === undefined) continue
      serve(hook, decodeParams(params), req, res).catch((error: unknown) => {
        deps.logger.error({ webhook: hook.name, err: error }, 'webhook delivery failed unexpectedly')
        sendReply(res, errorReply(500, 'internal_error', 'unexpected error'))
      })
      return true
    }
    return false
  }
}
