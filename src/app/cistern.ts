import type { Logger } from 'pino'
import type { Admin } from '../admin/admin.js'
import type { AdminHooks, EventsPage, EventsQuery } from '../admin/hooks.js'
import { type AdminStartOptions, prepareAdmin, storeFaultLogger } from '../admin/start.js'
import type { CisternConfig } from '../config/types.js'
import { createGateway, type Gateway, type GatewayOptions } from '../gateway/gateway.js'
import { selectorsFor } from '../gateway/routing/cache-key.js'
import { createRefresh, gatewayHost, type Refresh, type RefreshOptions } from '../refresh/index.js'
import { openCoordination, openStore } from '../stores/open-store.js'
import { createWebhooks, openWebhookLog, type Webhooks, type WebhooksDeps } from '../webhooks/index.js'
import { listenError } from './listen-error.js'
import { Parts } from './parts.js'

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
  /**
   * Stop everything, in the reverse of the start order, each part waiting up to `graceMs` for its work:
   * the admin listener, webhook actions, the refresh path (its streams, scheduler and notifier; due
   * work stays in its database), the gateway (its listener, upstream pools and the store), and last
   * the webhook event log, so deliveries until the listener stops are still stored.
   */
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
  // Resolves the admin token first: a non-loopback admin address without one refuses to start here,
  // before anything is opened. The logger and the monitor are made here too: every part reports to them.
  const setup = prepareAdmin(config, options)
  const { logger, monitor } = setup
  // Each part is registered as it is made; a failure closes those made so far, latest first.
  const parts = new Parts()
  parts.add(setup)
  try {
    // The webhook event log is opened before the gateway, so it closes after the gateway has stopped
    // listening: a delivery during shutdown is still stored (`pending`) and acted on at the next start.
    const eventLog = openWebhookLog(config, logger)
    parts.add({ close: async () => eventLog.close() })
    // The gateway and the two parts built on it need each other: the refresh path and webhooks work
    // through the gateway (its cache, its refreshKey), while the gateway hands them its own paths
    // (webhooks in, /_cistern/changes) and its reads of kept routes. So the gateway is made first and
    // reaches them through `later`, which is filled below, before the gateway starts listening: no
    // request can find it empty.
    const later: { refresh?: Refresh; webhooks?: Webhooks } = {}
    // The store, and beside a shared one (Redis) what its instances share beyond the entries. The
    // coordination is registered before the gateway, so it closes after the gateway has stopped.
    const store = options.store ?? openStore(config.store, { onFault: storeFaultLogger(logger) })
    const coordination =
      options.coordination ??
      openCoordination(store, {
        onError: (error, what) => logger.warn({ err: error, what }, 'coordination error'),
      })
    if (coordination) parts.add(coordination)
    const gateway = parts.add(
      createGateway(config, {
        ...setup.gatewayOptions({ ...options, store }),
        ...(coordination && { coordination }),
        // cistern's own paths first, so a caller's handler (a bench's probe) cannot shadow a webhook.
        extraHandlers: [
          (req, res, path) => later.webhooks?.handler(req, res, path) ?? false,
          (req, res, path) => later.refresh?.sseHandler(req, res, path) ?? false,
          ...(options.extraHandlers ?? []),
        ],
        onRead: (key, route) => later.refresh?.onRead(key, route),
      }),
    )
    setup.observe(gateway)
    const refresh = parts.add(
      createRefresh(config, gatewayHost(gateway), {
        now: gateway.context.now,
        ...(options.timers && { timers: options.timers }),
        // Read when a change event is built: the gateway has started by then.
        baseUrl: () => gateway.url,
        onChange: (event) => monitor.observer.changeEvent(event.route),
        onError: (error, what) => logger.warn({ err: error, what }, 'refresh path error'),
        onWhileError: (info) =>
          logger.warn(info, 'refresh.while could not be evaluated: the key stays scheduled'),
        ...(coordination && { coordination }),
        ...options.refresh,
      }),
    )
    const webhooks = parts.add(
      createWebhooks(config, {
        cache: gateway.cache,
        now: gateway.context.now,
        refresher: options.refresher ?? refreshRequester(refresh),
        logger,
        store: eventLog,
        onCount: (webhook, name) => monitor.observer.webhookEvent(webhook, name),
        ...(coordination && { coordination }),
      }),
    )
    later.refresh = refresh
    later.webhooks = webhooks
    const admin = setup.createAdmin(gateway, adminHooks(refresh, webhooks))
    if (admin) parts.add(admin)

    // Joins the heartbeat and starts reading the invalidation stream before the first request.
    await coordination?.start()
    await gateway.start().catch((error: unknown) => {
      throw listenError('listen', config.listen, error)
    })
    // Change events carry the gateway's URL, so the refresh path starts once it is bound.
    await refresh.start()
    // Deliveries that came in since the gateway started were stored; they are acted on from here.
    await webhooks.start()
    await admin?.start().catch((error: unknown) => {
      throw listenError('admin.listen', config.admin.listen, error)
    })
    return {
      config,
      gateway,
      webhooks,
      refresh,
      url: gateway.url,
      admin,
      adminUrl: admin?.url,
      logger,
      close: (graceMs = 10_000) => parts.close(graceMs),
    }
  } catch (error) {
    // A webhook secret the scheme cannot use, or a port in use: release what was opened.
    await parts.close(0)
    throw error
  }
}

/**
 * Webhook `refresh` actions, through the refresh path (change detection included): a gateway path
 * covers its query and header variants, as a write does.
 */
function refreshRequester(refresh: Refresh): NonNullable<WebhooksDeps['refresher']> {
  return {
    async refresh(selector) {
      let queued = 0
      for (const one of selectorsFor(selector)) queued += (await refresh.refresh(one)).queued
      return queued
    },
  }
}

/** What the admin API reads of the refresh path and the webhook event log. */
function adminHooks(refresh: Refresh, webhooks: Webhooks): AdminHooks {
  return {
    queue: () => refresh.scheduler.queue(),
    nextRefresh: (key) => refresh.scheduler.nextRefresh(key),
    whileError: (key) => refresh.scheduler.whileError(key)?.message,
    // `cistern refresh --key` on a route with `refresh`: the key is kept warm from then on.
    refresh: (selection) => refresh.refresh(selection, { enroll: 'key' in selection }),
    changes: (req, res) => refresh.serveAdminChanges(req, res),
    events: webhookEventsHook(webhooks),
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
