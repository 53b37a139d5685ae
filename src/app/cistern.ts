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
  /** Stop everything: listeners first, then background work, then upstream pools and the store. */
  close(graceMs?: number): Promise<void>
}

export interface StartOptions extends GatewayOptions {
  /**
   * Where webhook `refresh` actions go. Until the refresh scheduler provides one, they soft-invalidate
   * their selection (the next read serves it stale once and refreshes it in the background).
   */
  refresher?: WebhooksDeps['refresher']
  /** The webhooks' logger; default pino at config.log.level. */
  logger?: WebhooksDeps['logger']
}

export async function startCistern(config: CisternConfig, options: StartOptions = {}): Promise<Cistern> {
  const gateway = createGateway(config, options)
  let webhooks: Webhooks | undefined
  let url: string
  try {
    webhooks = createWebhooks(config, {
      cache: gateway.cache,
      now: gateway.context.now,
      ...(options.refresher && { refresher: options.refresher }),
      ...(options.logger && { logger: options.logger }),
    })
    gateway.context.extraHandlers.push(webhooks.handler)
    url = await gateway.listen()
  } catch (error) {
    // A webhook secret the scheme cannot use, or a port in use: release what was opened.
    webhooks?.close()
    await gateway.close(0)
    throw error
  }
  const hooks = webhooks
  return {
    config,
    gateway,
    webhooks: hooks,
    url,
    async close(graceMs = 10_000) {
      // Webhook actions use the cache, so they finish (or are left pending for the next start)
      // before the gateway closes it; deliveries during shutdown are still stored.
      await hooks.drain(graceMs)
      await gateway.close(graceMs)
      hooks.close()
    },
  }
}
