import type { Logger } from 'pino'
import type { Admin } from '../admin/admin.js'
import { type AdminStartOptions, prepareAdmin } from '../admin/start.js'
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
  /** cistern's logger; default: pino JSON on stdout at config.log.level, secrets scrubbed. */
  logger?: Logger
  /** The admin listener's token and hooks, or false to run without it. */
  admin?: AdminStartOptions | false
}

export async function startCistern(config: CisternConfig, options: StartOptions = {}): Promise<Cistern> {
  // Resolves the admin token first: a non-loopback admin address without one refuses to start here.
  const setup = prepareAdmin(config, options)
  const gateway = createGateway(config, setup.gatewayOptions(options))
  let url: string
  let admin: Awaited<ReturnType<typeof setup.start>>
  try {
    url = await gateway.listen()
    admin = await setup.start(gateway)
  } catch (error) {
    // A port in use: release what was opened.
    setup.close()
    await gateway.close(0)
    throw error
  }
  return {
    config,
    gateway,
    url,
    admin: admin?.admin,
    adminUrl: admin?.url,
    logger: setup.logger,
    async close(graceMs = 10_000) {
      await admin?.admin.close()
      await gateway.close(graceMs)
      setup.close()
    },
  }
}
