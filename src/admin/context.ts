import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { CisternConfig } from '../config/types.js'
import type { Gateway } from '../gateway/gateway.js'
import type { Scrubber } from '../util/redact.js'
import type { AdminHooks } from './hooks.js'
import type { Metrics } from './metrics/metrics.js'
import type { Census } from './stats/census.js'
import type { Observer } from './stats/observer.js'

/** Everything an admin route handler may use, built once by createAdmin. */
export interface AdminContext {
  config: CisternConfig
  gateway: Gateway
  hooks: AdminHooks
  observer: Observer
  metrics: Metrics
  census: Census
  logger: Logger
  /** Removes secrets from text built from other modules' data. */
  scrubber: Scrubber
  /** When the process (this cistern) started, epoch ms. */
  startedAt: number
  now: () => number
  /** Open SSE responses, ended when the admin listener closes. */
  streams: Set<ServerResponse>
}

export interface AdminRequest {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  /** The decoded `{key}` of /entries/{key}. */
  param?: string
}

export type AdminHandler = (ctx: AdminContext, request: AdminRequest) => Promise<void> | void
