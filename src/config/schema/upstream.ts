import { z } from 'zod'
import type { AuthConfig, BudgetConfig, Reserve, UpstreamConfig } from '../types.js'
import { duration, expected, headerName, oneOrMany, rate, secret, statusCode, text } from './common.js'
import { httpUrl } from './net.js'

const keyed = (name: z.ZodType<string>) =>
  z
    .strictObject({
      name,
      value: secret('The key (a single credential)').optional(),
      values: z.array(secret('One key of the pool')).min(1).optional().meta({ description: 'A key pool' }),
    })
    .transform((input, ctx) => {
      if ((input.value === undefined) === (input.values === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give exactly one of value or values', input })
        return z.NEVER
      }
      return { name: input.name, values: input.values ?? [input.value!] }
    })

const auth = z
  .strictObject({
    basic: z
      .strictObject({ username: secret('User name'), password: secret('Password') })
      .optional()
      .meta({ description: 'HTTP Basic authentication' }),
    bearer: oneOrMany(secret('Bearer token'), 'a token')
      .optional()
      .meta({ description: 'Authorization: Bearer; a list is a key pool' }),
    header: keyed(headerName('Header name'))
      .optional()
      .meta({ description: 'A key sent in a request header' }),
    query: keyed(text('Query parameter name'))
      .optional()
      .meta({ description: 'A key sent as a query parameter' }),
    oauth2: z
      .strictObject({
        tokenUrl: httpUrl('Token endpoint of the client-credentials grant', { query: true }),
        clientId: text('Client id'),
        clientSecret: secret('Client secret'),
        scope: oneOrMany(text('Scope'), 'a scope')
          .optional()
          .meta({ description: 'Scopes to ask for (default: the client’s own)' }),
        clientAuth: z
          .enum(['basic', 'body'])
          .default('basic')
          .meta({ description: 'Send the client id and secret as HTTP Basic (RFC 6749) or as form fields' }),
      })
      .optional()
      .meta({ description: 'OAuth 2.0 client credentials: cistern fetches, caches and renews the token' }),
  })
  .transform((input, ctx): AuthConfig => {
    const given = (['basic', 'bearer', 'header', 'query', 'oauth2'] as const).filter(
      (k) => input[k] !== undefined,
    )
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          given.length === 0
            ? 'expected one of basic, bearer, header, query, oauth2'
            : `give only one of ${given.join(', ')}`,
        input,
      })
      return z.NEVER
    }
    if (input.basic) return { kind: 'basic', ...input.basic }
    if (input.bearer) return { kind: 'bearer', tokens: input.bearer }
    if (input.header) return { kind: 'header', ...input.header }
    if (input.oauth2) {
      const { scope, ...rest } = input.oauth2
      return { kind: 'oauth2', ...rest, scope: scope?.join(' ') }
    }
    return { kind: 'query', ...input.query! }
  })
  .meta({
    description:
      'How cistern authenticates to the upstream: exactly one of basic, bearer, header, query, oauth2',
  })

const reserve = z
  .union(
    [
      z
        .number()
        .min(0)
        .transform((value, ctx): Reserve => {
          if (Number.isInteger(value) && value >= 1) return { kind: 'count', value }
          if (value < 1) return { kind: 'fraction', value }
          ctx.addIssue({
            code: 'custom',
            message: 'use a fraction below 1 (0.2), a percentage (20%) or a whole count',
            input: value,
          })
          return z.NEVER
        }),
      z
        .string()
        .regex(/^\d+(?:\.\d+)?%$/, {
          error: (i) => `${JSON.stringify(i.input)} is not a percentage like 20%`,
        })
        .transform((value): Reserve => ({ kind: 'fraction', value: Number(value.slice(0, -1)) / 100 }))
        .refine((r) => r.value <= 1, { error: 'must be at most 100%' }),
    ],
    { error: expected('a fraction (0.2), a percentage (20%) or a count of tokens (5)') },
  )
  .meta({ description: 'Share of the budget kept for foreground requests: 0.2, 20% or a count such as 5' })

const budget = z
  .strictObject({
    rate: oneOrMany(rate(), 'a rate such as 10/s')
      .optional()
      .meta({ description: 'Rate ceiling such as 10/s or 36000/h; a list applies all at once' }),
    burst: z.number().int().min(1).default(1).meta({ description: 'Calls allowed at once above the rate' }),
    concurrency: z.number().int().min(1).default(16).meta({ description: 'Calls in flight at most' }),
    per: z.enum(['upstream', 'key']).default('upstream').meta({ description: 'One budget, or one per key' }),
    reserve: reserve.prefault('20%'),
    maxWait: z
      .strictObject({
        foreground: duration('Longest wait for a permit while a client waits').prefault('3s'),
        background: duration('Longest wait for a permit for refresh and warming').prefault('1m'),
      })
      .prefault({})
      .meta({ description: 'How long a call may queue for the budget before it gives up' }),
  })
  .transform((input): BudgetConfig => ({ ...input, rate: input.rate ?? [] }))
  .meta({ description: 'Hard ceiling on calls to this upstream, across every cistern instance' })

const timeouts = z
  .strictObject({
    connect: duration('TCP/TLS connect timeout').optional(),
    headers: duration('Time until response headers').optional(),
    body: duration('Time to read the body').optional(),
  })
  .meta({ description: 'Per-phase timeouts; each defaults to min(timeout, its own default)' })

export const upstreamSchema = z
  .strictObject({
    url: httpUrl('Base URL; only paths under it are ever called', { query: false }),
    auth: auth.optional(),
    headers: z
      .record(headerName('Header name'), text('Header value'))
      .default({})
      .meta({ description: 'Extra headers sent with every call' }),
    clientCredentials: z.array(headerName('Request header a client authenticates with')).default([]).meta({
      description:
        'Client headers treated like Authorization and Cookie: sent only to an upstream without auth, never on public routes, keyed as a hash',
    }),
    budget: budget.prefault({}),
    timeout: duration('Total time for one call').prefault('10s'),
    timeouts: timeouts.prefault({}),
    retries: z
      .strictObject({
        max: z.number().int().min(0).max(10).default(2).meta({ description: 'Retries of idempotent calls' }),
        backoff: duration('Base of the jittered exponential backoff').prefault('250ms'),
      })
      .prefault({}),
    breaker: z
      .strictObject({
        failures: z
          .number()
          .int()
          .min(1)
          .default(5)
          .meta({ description: 'Consecutive failures before DOWN' }),
        cooldown: duration(
          'Longest wait between probes of a DOWN upstream (the first after 1 s, doubling)',
        ).prefault('30s'),
      })
      .prefault({}),
    pauseOn: z
      .array(statusCode)
      .default([])
      .meta({ description: 'Statuses that pause the upstream or key, besides 429 (e.g. 403)' }),
    expect: z
      .enum(['json', 'any'])
      .default('json')
      .meta({ description: 'json: a non-JSON 200 is a failure' }),
  })
  .transform((input): Omit<UpstreamConfig, 'name'> => {
    const url = new URL(input.url)
    const cap = (value: number | undefined, fallback: number) => Math.min(input.timeout, value ?? fallback)
    return {
      ...input,
      origin: url.origin,
      basePath: input.url.slice(url.origin.length),
      timeouts: {
        connect: cap(input.timeouts.connect, 5000),
        headers: cap(input.timeouts.headers, input.timeout),
        body: cap(input.timeouts.body, input.timeout),
      },
      pauseOn: [...new Set([429, ...input.pauseOn])].sort((a, b) => a - b),
    }
  })

export const UPSTREAM_NAME = /^[A-Za-z0-9][\w.-]*$/
