import type { CisternConfig } from '../config/types.js'
import { createGateway, type Gateway, type GatewayOptions } from '../gateway/gateway.js'

/**
 * The running system, assembled from a config: the gateway on the public listener and, as they
 * join, the admin listener, webhooks, refresh scheduler and change feed. `serve`, the demo and the
 * integration tests all start cistern through here, so they run the same wiring.
 */
export interface Cistern {
  readonly config: CisternConfig
  readonly gateway: Gateway
  /** The gateway's bound URL. */
  readonly url: string
  /** Stop everything: listeners first, then background work, then upstream pools and the store. */
  close(graceMs?: number): Promise<void>
}

export type StartOptions = GatewayOptions

export async function startCistern(config: CisternConfig, options: StartOptions = {}): Promise<Cistern> {
  const gateway = createGateway(config, options)
  const url = await gateway.listen()
  return {
    config,
    gateway,
    url,
    close: (graceMs) => gateway.close(graceMs),
  }
}
