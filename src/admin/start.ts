import type { Logger } from 'pino'
import type { CisternConfig } from '../config/types.js'
import type { Gateway, GatewayOptions } from '../gateway/gateway.js'
import { connectionCaps } from '../gateway/server/listener-limits.js'
import { createCisternLogger } from '../log/logger.js'
import { openStore } from '../stores/open-store.js'
import type { Closable } from '../util/lifecycle.js'
import { type Admin, createAdmin } from './admin.js'
import type { AdminHooks } from './hooks.js'
import { createMonitor, type Monitor } from './monitor.js'
import { type AdminToken, resolveAdminToken } from './server/auth.js'
import { subscribeUpstreamCalls } from './stats/upstream-calls.js'

export interface AdminStartOptions {
  /** Used when neither admin.token nor CISTERN_ADMIN_TOKEN is set (else a random one is made). */
  token?: string
  /** Hooks of your own; each one given replaces the one startCistern would wire. */
  hooks?: AdminHooks
  /** Environment to read CISTERN_ADMIN_TOKEN from (default process.env). */
  env?: NodeJS.ProcessEnv
}

/**
 * The admin side's part of startCistern, in the order startup needs it: first the token (so a
 * non-loopback admin address without one refuses to start before anything is opened), the logger
 * and the monitor; then the gateway options that feed them (onServed, a timed store); then, once
 * the gateway and the parts behind the hooks exist, the admin listener itself (not started).
 */
export interface AdminSetup extends Closable {
  readonly logger: Logger
  readonly monitor: Monitor
  readonly token: AdminToken | undefined
  gatewayOptions(options: GatewayOptions): GatewayOptions
  /** The monitor counts each of the gateway's upstream calls (their `onCall`) from now until close. */
  observe(gateway: Gateway): void
  /** The admin listener over `gateway` with these hooks (the caller's own win); undefined with `admin: false`. */
  createAdmin(gateway: Gateway, hooks: AdminHooks): Admin | undefined
  /** Stop observing (the cache events, the upstream calls). */
  close(graceMs?: number): Promise<void>
}

/** How a store fault is told: the store's trouble, and that cistern carries on without it. */
export function storeFaultLogger(logger: Logger): (error: Error) => void {
  return (error) =>
    logger.warn({ err: error }, 'store fault: serving from memory and the upstream where the store fails')
}

export function prepareAdmin(
  config: CisternConfig,
  options: { logger?: Logger; admin?: AdminStartOptions | false },
): AdminSetup {
  const adminOptions = options.admin === false ? undefined : (options.admin ?? {})
  const token = adminOptions && resolveAdminToken(config.admin, adminOptions)
  const logger = options.logger ?? createCisternLogger(config, { extraSecrets: token ? [token.value] : [] })
  const monitor = createMonitor(config, logger)
  const unsubscribers: (() => void)[] = [monitor.close]
  return {
    logger,
    monitor,
    token,
    gatewayOptions(gatewayOptions) {
      const store = monitor.wrapStore(
        gatewayOptions.store ?? openStore(config.store, { onFault: storeFaultLogger(logger) }),
      )
      const outer = gatewayOptions.onServed
      const onServed = outer
        ? (route: string, status: string, ms: number) => {
            monitor.onServed(route, status, ms)
            outer(route, status, ms)
          }
        : monitor.onServed
      const dropped = gatewayOptions.onConnectionDropped
      const onConnectionDropped = () => {
        monitor.observer.connectionDropped('public', connectionCaps(config.server.maxConnections).public)
        dropped?.()
      }
      return { ...gatewayOptions, store, onServed, onConnectionDropped }
    },
    observe(gateway) {
      unsubscribers.push(subscribeUpstreamCalls(gateway.upstreams.values(), monitor.observer))
    },
    createAdmin(gateway, hooks) {
      if (!adminOptions || !token) return undefined
      return createAdmin({
        config,
        gateway,
        monitor,
        logger,
        token,
        hooks: { ...hooks, ...adminOptions.hooks },
      })
    },
    async close() {
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe()
    },
  }
}
