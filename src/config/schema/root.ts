import { z } from 'zod'
import { duration, expected, secret, size, text } from './common.js'
import { listen } from './net.js'
import { PRIORITIES, routeSchema } from './route.js'
import { UPSTREAM_NAME, upstreamSchema } from './upstream.js'
import { notifySchema, webhookSchema } from './webhook.js'

const admin = z
  .strictObject({
    listen: listen('Admin API, /metrics and dashboard; never the public port').prefault('127.0.0.1:8081'),
    token: secret('Bearer token for the admin API; required off loopback').optional(),
  })
  .meta({ description: 'The admin listener' })

const store = z
  .strictObject({
    kind: z
      .enum(['memory', 'sqlite', 'redis', 'postgres'])
      .default('sqlite')
      .meta({ description: 'Where entries live' }),
    path: text('SQLite file (relative to the config file)').optional(),
    url: text('redis://, rediss://, redis-sentinel://, redis-cluster:// or postgres:// URL').optional(),
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be 1 to 64 letters, digits, _ . or -' })
      .optional()
      .meta({
        description:
          'Prefix of every key (redis) or schema (postgres), so deployments share a server (default cistern)',
      }),
    memory: size('Byte bound of the in-process tier in front of the store').prefault('64MB'),
    timeout: duration('Timeout of every store call').prefault('1s'),
    maxSize: size(
      'Bound on what the store keeps, least recently used evicted beyond it (sqlite default 1GB; memory: the larger of memory and 64MB)',
    ).optional(),
  })
  .meta({ description: 'The store behind the memory tier' })

const limits = z
  .strictObject({
    maxBodySize: size('Largest client request body (413 above)').prefault('1MB'),
    maxResponseSize: size('Largest upstream response body accepted').prefault('32MB'),
    maxVariants: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .meta({ description: 'Entries kept per path (queries, vary headers, clients); routes may override' }),
  })
  .meta({ description: 'Size limits' })

const server = z
  .strictObject({
    maxConnections: z
      .union([z.literal('auto'), z.number().int().positive()], {
        error: expected('auto or a whole number of connections above 0'),
      })
      .default('auto')
      .meta({
        description:
          'Open client connections on the public listener; more are closed at once (auto: half the open-file limit, at most 10000)',
      }),
    headersTimeout: duration('A client must send its request headers within this').prefault('10s'),
    requestTimeout: duration('A client must send its whole request (headers and body) within this').prefault(
      '30s',
    ),
    keepAliveTimeout: duration('An idle keep-alive connection is closed after this').prefault('5s'),
  })
  .superRefine((value, ctx) => {
    for (const name of ['headersTimeout', 'requestTimeout', 'keepAliveTimeout'] as const) {
      // 0 would mean "never" to node: exactly the unbounded wait these settings exist to prevent.
      if (value[name] <= 0) ctx.addIssue({ code: 'custom', path: [name], message: 'must be above 0' })
    }
    if (value.headersTimeout > value.requestTimeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['headersTimeout'],
        message: 'must not be longer than requestTimeout (the headers are part of the request)',
      })
    }
  })
  .meta({ description: 'Client connection limits of the listeners' })

const log = z.strictObject({
  level: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .meta({ description: 'Log level' }),
})

const feed = z
  .strictObject({
    public: z
      .boolean()
      .default(false)
      .meta({ description: 'Also serve /_cistern/changes on the public port, behind feed.tokens' }),
    tokens: z
      .array(
        secret('A bearer token a client presents to read the feed on the public port').refine(
          (token) => !/\s/.test(token),
          { error: 'must not contain spaces (it is sent as Authorization: Bearer <token>)' },
        ),
      )
      .default([])
      .meta({ description: 'Bearer tokens for the public feed; required with public: true' }),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(100)
      .meta({ description: 'Open feed streams per listener; more are answered 503' }),
    heartbeat: duration('Comment line this often on an idle stream')
      .refine((ms) => ms > 0, { error: 'must be above zero' })
      .prefault('15s'),
    maxBuffered: size('A client this far behind (bytes it has not taken) is dropped').prefault('1MB'),
  })
  .meta({ description: 'The change feed (SSE): who may read it and its limits' })

const refreshDefaults = z
  .strictObject({
    hotWindow: duration('while: hot means read within this window').prefault('10m'),
    priority: z.enum(PRIORITIES).default('normal').meta({ description: 'Default refresh priority' }),
  })
  .meta({ description: 'Defaults for every route refresh policy' })

export const configSchema = z
  .strictObject({
    listen: listen('Gateway listener, host:port').prefault('127.0.0.1:8080'),
    admin: admin.prefault({}),
    store: store.prefault({}),
    limits: limits.prefault({}),
    server: server.prefault({}),
    log: log.prefault({}),
    refreshDefaults: refreshDefaults.prefault({}),
    feed: feed.prefault({}),
    upstreams: z
      .record(
        z.string().regex(UPSTREAM_NAME, {
          error: (issue) =>
            `${JSON.stringify(issue.input)} is not a valid upstream name (letters, digits, _ . -)`,
        }),
        upstreamSchema,
      )
      .default({})
      .meta({ description: 'The APIs cistern calls, by name' }),
    routes: z.array(routeSchema).default([]).meta({ description: 'Gateway routes' }),
    webhooks: z.array(webhookSchema).default([]).meta({ description: 'Signed webhooks received' }),
    notify: z.array(notifySchema).default([]).meta({ description: 'Where change events are sent' }),
  })
  .meta({ title: 'cistern configuration', description: 'cistern.yaml: see docs/configuration.md' })

export type ParsedConfig = z.output<typeof configSchema>
