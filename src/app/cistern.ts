import type { Logger } from 'pino'
import type { Admin } from '../admin/admin.js'
import type { EventsPage, EventsQuery } from '../admin/hooks.js'
import { type AdminStartOptions, prepareAdmin } from '../admin/start.js'
import type { CisternConfig } from '../config/types.js'
import { createGateway, type Gateway, type GatewayOptions } from '../gateway/gateway.js'
import { selectorsOfPath } from '../gateway/routing/cache-key.js'
import { createRefresh, gatewayHost, type Refresh, type RefreshOptions } from '../refresh/index.js'
import { createWebhooks, type Webhooks, type WebhooksDeps } from '../webhooks/index.js'
import { listenError } from './listen-error.js'

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
  /** Keep-warm scheduler, change feed (SSE: admin GET /changes; /_cistern/changes with feed.public), notify outbox, warming. */
  readonly refresh: Refresh
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
   * Where webhook `refresh` actions go. Default: the refresh path (a background-lane refresh with
   * change detection; a gateway path covers its query and header variants, as a write does).
   */
  refresher?: WebhooksDeps['refresher']
  /** cistern's logger (the webhooks' too); default: pino JSON on stdout at config.log.level, secrets scrubbed. */
  logger?: Logger
  /** The admin listener's token and hooks, or false to run without it. */
  admin?: AdminStartOptions | false
  /** Tuning of the refresh path (database path, buffer sizes, retry delays); tests mostly. */
  refresh?: RefreshOptions
}

export async function startCistern(config: CisternConfig, options: StartOptions = {}): Promise<Cistern> {
  // Resolves the admin token first: a non-loopback admin address without one refuses to start here.
  const setup = prepareAdmin(config, options)
  const gateway = createGateway(config, setup.gatewayOptions(options))
  let webhooks: Webhooks | undefined
  let refresh: Refresh | undefined
  let url: string
  let admin: Awaited<ReturnType<typeof setup.start>>
  try {
    refresh = createRefresh(config, gatewayHost(gateway), {
      now: gateway.context.now,
      ...(options.timers && { timers: options.timers }),
      onError: (error, what) => setup.logger.warn({ err: error, what }, 'refresh path error'),
      onWhileError: (info) =>
        setup.logger.warn(info, 'refresh.while could not be evaluated: the key stays scheduled'),
      ...options.refresh,
    })
    const refresher = refresh
    webhooks = createWebhooks(config, {
      cache: gateway.cache,
      now: gateway.context.now,
      refresher: options.refresher ?? {
        async refresh(selector) {
          const selectors =
            'key' in selector && selector.key.startsWith('/') ? selectorsOfPath(selector.key) : [selector]
          let queued = 0
          for (const one of selectors) queued += (await refresher.refresh(one)).queued
          return queued
        },
      },
      logger: setup.logger,
      onCount: (webhook, name) => setup.monitor.observer.webhookEvent(webhook, name),
    })
    gateway.context.extraHandlers.push(webhooks.handler, refresh.sseHandler)
    gateway.context.onRead = refresh.onRead
    url = await gateway.listen().catch((error: unknown) => {
      throw listenError('listen', config.listen, error)
    })
    admin = await setup.start(gateway).catch((error: unknown) => {
      throw listenError('admin.listen', config.admin.listen, error)
    })
    if (admin) admin.admin.hooks.events ??= webhookEventsHook(webhooks)
    refresh.start(url)
    wireAdmin(admin?.admin, refresh)
  } catch (error) {
    // A webhook secret the scheme cannot use, or a port in use: release what was opened.
    webhooks?.close()
    await refresh?.close(0)
    setup.close()
    await gateway.close(0)
    throw error
  }
  const background = refresh
  const hooks = webhooks
  return {
    config,
    gateway,
    webhooks: hooks,
    refresh: background,
    url,
    admin: admin?.admin,
    adminUrl: admin?.url,
    logger: setup.logger,
    async close(graceMs = 10_000) {
      await admin?.admin.close()
      // Webhook actions use the cache, so they finish (or are left pending for the next start)
      // before the gateway closes it; deliveries during shutdown are still stored.
      await hooks.drain(graceMs)
      // Change streams end and the scheduler stops before the gateway closes the cache and upstreams;
      // due refreshes and undelivered notifications stay in the refresh database for the next start.
      await background.close(graceMs)
      await gateway.close(graceMs)
      hooks.close()
      setup.close()
    },
  }
}

/** The admin API reads the queue, the change feed and the refresh trigger through its hooks. */
function wireAdmin(admin: Admin | undefined, refresh: Refresh): void {
  if (!admin) return
  admin.hooks.queue = () => refresh.scheduler.queue()
  admin.hooks.nextRefresh = (key) => refresh.scheduler.nextRefresh(key)
  admin.hooks.whileError = (key) => refresh.scheduler.whileError(key)?.message
  // `cistern refresh --key` on a route with `refresh`: the key is kept warm from then on.
  admin.hooks.refresh = (selection) => refresh.refresh(selection, { enroll: 'key' in selection })
  admin.hooks.changes = (req, res) => refresh.serveAdminChanges(req, res)
  refresh.feed.subscribe((event) => admin.recorder.changeEvent(event.route))
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
