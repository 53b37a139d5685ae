import { z } from 'zod'
import { duration, secret, size, text } from './common.js'
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
    url: text('redis:// or postgres:// URL').optional(),
    memory: size('Byte bound of the in-process tier in front of the store').prefault('64MB'),
    timeout: duration('Timeout of every store call').prefault('1s'),
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

const log = z.strictObject({
  level: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .meta({ description: 'Log level' }),
})

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
    log: log.prefault({}),
    refreshDefaults: refreshDefaults.prefault({}),
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
