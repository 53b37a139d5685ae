import type { Logger } from 'pino'
import type { Admin } from '../admin/admin.js'
import type { EventsPage, EventsQuery } from '../admin/hooks.js'
import { type AdminStartOptions, prepareAdmin } from '../admin/start.js'
import type { CisternConfig } from '../config/types.js'
import { createGateway, type Gateway, type GatewayOptions } from '../gateway/gateway.js'
import { createWebhooks, type Webhooks, type WebhooksDeps } from '../webhooks/index.js'

/**
 * The running system, assembled from a config: the gateway on the public listener and, as they
 * join, the admin listener, webhooks, refresh scheduler and change feed. `serve`, the demo and the
 * integration tests all start cistern through here, so they run the same wiring.
 */
export interface Cistern {
  readonly config: CisternConfig
  readonly gateway: Gateway
  /** Webhooks in: their handler sits on the gateway listener; `webhooks.events` feeds GET /events. */
  readonly webhooks: Webhooks
  /** The gateway's bound URL. */
  readonly url: string
  /** The admin listener (API, /metrics, dashboard); undefined when started with `admin: false`. */
  readonly admin: Admin | undefined
  /** The admin listener's bound URL. */
  readonly adminUrl: string | undefined
  /** pino, secrets scrubbed from every line. */
  readonly logger: Logger
  /** Stop everything: listeners first, then background work, then upstream pools and the store. */
  close(graceMs?: number): Promise<void>
}

export interface StartOptions extends GatewayOptions {
  /**
   * Where webhook `refresh` actions go. Until the refresh scheduler provides one, they soft-invalidate
   * their selection (the next read serves it stale once and refreshes it in the background).
   */
  refresher?: WebhooksDeps['refresher']
  /** cistern's logger (the webhooks' too); default: pino JSON on stdout at config.log.level, secrets scrubbed. */
  logger?: Logger
  /** The admin listener's token and hooks, or false to run without it. */
  admin?: AdminStartOptions | false
}

export async function startCistern(config: CisternConfig, options: StartOptions = {}): Promise<Cistern> {
  // Resolves the admin token first: a non-loopback admin address without one refuses to start here.
  const setup = prepareAdmin(config, options)
  const gateway = createGateway(config, setup.gatewayOptions(options))
  let webhooks: Webhooks | undefined
  let url: string
  let admin: Awaited<ReturnType<typeof setup.start>>
  try {
    webhooks = createWebhooks(config, {
      cache: gateway.cache,
      now: gateway.context.now,
      ...(options.refresher && { refresher: options.refresher }),
      logger: setup.logger,
      onCount: (webhook, name) => setup.monitor.observer.webhookEvent(webhook, name),
    })
    gateway.context.extraHandlers.push(webhooks.handler)
    url = await gateway.listen()
    admin = await setup.start(gateway)
    if (admin) admin.admin.hooks.events ??= webhookEventsHook(webhooks)
  } catch (error) {
    // A webhook secret the scheme cannot use, or a port in use: release what was opened.
    webhooks?.close()
    setup.close()
    await gateway.close(0)
    throw error
  }
  const hooks = webhooks
  return {
    config,
    gateway,
    webhooks: hooks,
    url,
    admin: admin?.admin,
    adminUrl: admin?.url,
    logger: setup.logger,
    async close(graceMs = 10_000) {
      await admin?.admin.close()
      // Webhook actions use the cache, so they finish (or are left pending for the next start)
      // before the gateway closes it; deliveries during shutdown are still stored.
      await hooks.drain(graceMs)
      await gateway.close(graceMs)
      hooks.close()
      setup.close()
    },
  }
}

/** GET /events from the webhook event log; a cursor that is not one of ours reads as the end. */
function webhookEventsHook(webhooks: Webhooks): (query: EventsQuery) => Promise<EventsPage> {
  return async (query) => {
    try {
      const page = await webhooks.events.list(query)
      return { events: page.events, ...(page.nextCursor !== undefined && { cursor: page.nextCursor }) }
    } catch (error) {
      if (error instanceof RangeError) return { events: [] }
      throw error
    }
  }
}
