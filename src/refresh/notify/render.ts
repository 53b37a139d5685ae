import { createHash } from 'node:crypto'
import type { Webhook } from 'standardwebhooks'
import type { NotifyConfig } from '../../config/types.js'
import type { ChangeEvent } from '../types.js'

/** Stable across restarts and reorderings of the config: pending deliveries follow their target. */
export function targetId(config: NotifyConfig): string {
  return createHash('sha256').update(`${config.kind} ${config.url}`).digest('hex').slice(0, 16)
}

export interface RenderContext {
  params: Record<string, string>
  body: unknown
}

const CHAT_LIMIT = { discord: 2000, slack: 4000 } as const

/** Template variables: the event's fields as text, plus params and the new body. */
function templateVars(event: ChangeEvent, ctx: RenderContext): Record<string, unknown> {
  return {
    ...ctx.params,
    ...event,
    at: new Date(event.at).toISOString(),
    previousFetchedAt: new Date(event.previousFetchedAt).toISOString(),
    added: event.added.join(', '),
    removed: event.removed.join(', '),
    changed: event.changed.join(', '),
    tags: event.tags.join(', '),
    patch: JSON.stringify(event.patch),
    params: ctx.params,
    body: ctx.body,
  }
}

function builtinMessage(event: ChangeEvent): string {
  const parts = (
    [
      ['added', event.added],
      ['changed', event.changed],
      ['removed', event.removed],
    ] as const
  )
    .filter(([, ids]) => ids.length > 0)
    .map(([name, ids]) => `${name}: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', …' : ''}`)
  return `${event.route} changed: ${event.url}${parts.length ? ` (${parts.join('; ')})` : ''}`
}

/**
 * The body to store in the outbox for one target. Standard Webhooks get the event in the spec's
 * envelope ({type, timestamp, data}); chat targets get a message rendered now, from the template
 * (or the built-in line when the template names something the event lacks).
 */
export function payloadFor(config: NotifyConfig, event: ChangeEvent, ctx: RenderContext): string {
  if (config.kind === 'standard-webhooks') {
    return JSON.stringify({
      type: 'cistern.change',
      timestamp: new Date(event.at).toISOString(),
      data: event,
    })
  }
  const text = (config.template?.render(templateVars(event, ctx)) ?? builtinMessage(event)).slice(
    0,
    CHAT_LIMIT[config.kind],
  )
  // Discord: never let a rendered value ping @everyone or a role.
  return JSON.stringify(
    config.kind === 'discord' ? { content: text, allowed_mentions: { parse: [] } } : { text },
  )
}

/** Request headers for one attempt: standard-webhooks are signed per attempt, with a fresh timestamp. */
export function headersFor(
  config: NotifyConfig,
  webhook: Webhook | undefined,
  eventId: string,
  payload: string,
  now: number,
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'cistern' }
  if (config.kind !== 'standard-webhooks' || !webhook) return headers
  const at = new Date(now)
  headers['webhook-id'] = eventId
  headers['webhook-timestamp'] = String(Math.floor(now / 1000))
  headers['webhook-signature'] = webhook.sign(eventId, at, payload)
  return headers
}
