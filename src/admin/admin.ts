import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { CisternConfig } from '../config/types.js'
import type { Gateway } from '../gateway/gateway.js'
import { secretParamsOf, secretsOf } from '../log/secrets.js'
import { closeServer } from '../util/close-server.js'
import type { Part } from '../util/lifecycle.js'
import { Scrubber } from '../util/redact.js'
import type { AdminContext } from './context.js'
import type { AdminHooks, AdminRecorder } from './hooks.js'
import { registerGauges } from './metrics/gauges.js'
import type { Metrics } from './metrics/metrics.js'
import type { Monitor } from './monitor.js'
import type { AdminToken } from './server/auth.js'
import { createAdminServer } from './server/server.js'
import { Census } from './stats/census.js'

export interface AdminOptions {
  config: CisternConfig
  gateway: Gateway
  monitor: Monitor
  logger: Logger
  token: AdminToken
  /** What the admin API reads of the other parts (the refresh path, webhooks); see AdminHooks. */
  hooks?: AdminHooks
  now?: () => number
}

/** The admin listener: API, /metrics and dashboard on config.admin.listen, behind the bearer token. */
export interface Admin extends Part {
  /** The hooks it was made with, read on every request (so a test may swap one for a while). */
  readonly hooks: AdminHooks
  /** Counters other modules feed (change events, webhook events, upstream calls). */
  readonly recorder: AdminRecorder
  readonly metrics: Metrics
  readonly token: string
  readonly tokenSource: AdminToken['source']
  readonly server: Server
  /** The bound URL once started; empty before. */
  readonly url: string
  /** Listen on config.admin.listen (port 0 picks a free one). */
  start(): Promise<void>
  /** End the SSE streams, stop accepting; a request still running after `graceMs` (at most 1 s) is cut. */
  close(graceMs?: number): Promise<void>
}

export function createAdmin(options: AdminOptions): Admin {
  const { config, gateway, monitor, logger } = options
  const hooks: AdminHooks = options.hooks ?? {}
  const now = options.now ?? Date.now
  const streams = new Set<ServerResponse>()
  const ctx: AdminContext = {
    config,
    gateway,
    hooks,
    observer: monitor.observer,
    metrics: monitor.metrics,
    census: new Census(gateway.cache, monitor.resolver),
    logger,
    scrubber: new Scrubber([...secretsOf(config), options.token.value], secretParamsOf(config)),
    startedAt: now(),
    now,
    streams,
  }
  const gauges = registerGauges(monitor.metrics.registry, {
    upstreams: () => gateway.upstreams.values(),
    now,
    queue: async () => (hooks.queue ? await hooks.queue() : undefined),
    tiers: async () => {
      const stats = await gateway.cache.storeStats().catch(() => undefined)
      return { memory: gateway.cache.memoryStats(), ...(stats && { store: stats }) }
    },
  })
  monitor.metrics.beforeScrape.push(() => gauges.newScrape())
  const server = createAdminServer(ctx, options.token.value)
  let url = ''
  return {
    hooks,
    recorder: monitor.observer,
    metrics: monitor.metrics,
    token: options.token.value,
    tokenSource: options.token.source,
    server,
    get url() {
      return url
    },
    async start() {
      url = await listen(server, config.admin.listen)
    },
    async close(graceMs = 1_000) {
      // SSE streams never end on their own: end them so close() does not wait for clients.
      for (const stream of streams) stream.end()
      streams.clear()
      if (!server.listening) return
      // A request still running after a second is cut: the admin API has nothing worth waiting for.
      await closeServer(server, Math.min(graceMs, 1_000))
    },
  }
}

function listen(server: Server, address: { host: string; port: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', reject)
      const bound = server.address() as AddressInfo
      resolve(`http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`)
    })
  })
}
