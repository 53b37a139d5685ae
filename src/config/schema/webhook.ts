import { z } from 'zod'
import type { VerifyConfig } from '../types.js'
import { cel, duration, headerName, oneOrMany, secret, size, template, text } from './common.js'
import { httpUrl } from './net.js'
import { pathPattern } from './route.js'

type Sink = { addIssue(issue: z.core.$ZodRawIssue): void }
const refuse = (ctx: Sink, key: string, message: string, input: unknown) =>
  ctx.addIssue({ code: 'custom', path: [key], message, input })

const verify = z
  .strictObject({
    scheme: z.enum(['hmac-sha256', 'standard-webhooks', 'stripe']).meta({ description: 'Signature scheme' }),
    header: headerName('Signature header (hmac-sha256), e.g. X-Hub-Signature-256').optional(),
    encoding: z
      .enum(['hex', 'base64'])
      .optional()
      .meta({ description: 'hmac-sha256 digest encoding; default hex' }),
    prefix: z.string().optional().meta({ description: 'hmac-sha256 prefix before the digest, e.g. sha256=' }),
    secret: oneOrMany(secret('Signing secret'), 'a secret').meta({
      description: 'Signing secret; a list accepts each of them (rotation)',
    }),
    tolerance: duration('Accepted clock skew for timestamped schemes').optional(),
  })
  .transform((input, ctx): VerifyConfig => {
    const { scheme } = input
    if (scheme === 'hmac-sha256') {
      if (input.header === undefined) {
        refuse(ctx, 'header', 'is required for hmac-sha256 (e.g. X-Hub-Signature-256)', input)
      }
      if (input.tolerance !== undefined) {
        refuse(ctx, 'tolerance', 'applies only to timestamped schemes (standard-webhooks, stripe)', input)
      }
      return {
        scheme,
        header: input.header ?? '',
        encoding: input.encoding ?? 'hex',
        prefix: input.prefix ?? '',
        secrets: input.secret,
        tolerance: 0,
      }
    }
    for (const key of ['header', 'encoding', 'prefix'] as const) {
      if (input[key] !== undefined) refuse(ctx, key, `is fixed by the ${scheme} scheme; remove it`, input)
    }
    return {
      scheme,
      header: scheme === 'stripe' ? 'stripe-signature' : 'webhook-signature',
      encoding: scheme === 'stripe' ? 'hex' : 'base64',
      prefix: scheme === 'stripe' ? 'v1=' : 'v1,',
      secrets: input.secret,
      tolerance: input.tolerance ?? 300_000,
    }
  })
  .meta({ description: 'How deliveries are verified; unsigned or badly signed ones get 401' })

const action = z
  .strictObject({
    when: cel('Condition over body, headers, params, now', 'bool').optional(),
    invalidate: z.array(template('Tag to invalidate, e.g. event:{body.message_data.event_key}')).default([]),
    refresh: z
      .array(template('Tag to refresh in the background; a template starting with / is a gateway path'))
      .default([]),
    soft: z.boolean().default(false).meta({ description: 'Mark stale rather than delete' }),
  })
  .superRefine((input, ctx) => {
    if (input.invalidate.length === 0 && input.refresh.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'an action needs invalidate or refresh (or both)', input })
    }
  })

export const webhookSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[\w.:/-]+$/, { error: 'must use only letters, digits and _ . : / -' })
    .optional()
    .meta({ description: 'Name in metrics and the admin API; defaults to the path' }),
  path: pathPattern('Path on the gateway listener, e.g. /hooks/tba'),
  verify,
  maxBodySize: size('Largest accepted delivery (413 above)').prefault('1MB'),
  replayWindow: duration('A repeated delivery inside this window is not acted on twice').prefault('24h'),
  retention: duration('How long received events are kept').prefault('7d'),
  on: z.array(action).min(1).meta({ description: 'Actions, each run when its condition holds' }),
})

export const notifySchema = z
  .strictObject({
    url: httpUrl('Where change events are posted', { query: true }),
    kind: z
      .enum(['standard-webhooks', 'discord', 'slack'])
      .default('standard-webhooks')
      .meta({ description: 'Payload format' }),
    secret: secret('Standard Webhooks signing secret (whsec_...)').optional(),
    template: template('Chat message for discord/slack, e.g. "{route} changed: {url}"').optional(),
    routes: z.array(text('Route name')).default([]).meta({ description: 'Only these routes; default all' }),
  })
  .superRefine((input, ctx) => {
    if (input.kind === 'standard-webhooks' && input.secret === undefined) {
      refuse(ctx, 'secret', 'is required for kind: standard-webhooks', input)
    }
    if (input.kind !== 'standard-webhooks' && input.secret !== undefined) {
      refuse(ctx, 'secret', `is not used by kind: ${input.kind}; remove it`, input)
    }
    if (input.kind === 'standard-webhooks' && input.template !== undefined) {
      refuse(ctx, 'template', 'applies only to kind: discord or slack', input)
    }
  })
