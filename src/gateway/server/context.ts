import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CisternConfig, RouteConfig, UpstreamConfig } from '../../config/types.js'
import type { Cache } from '../../engine/cache.js'
import type { Coordination } from '../../stores/coordination.js'
import type { UpstreamClient } from '../../upstream/client/client.js'
import type { StoredResponse } from '../response/stored-response.js'
import type { Router } from '../routing/router.js'

/**
 * A handler the gateway asks before route matching, for cistern's own paths on the public listener
 * (webhooks in, the change feed). Returns true when it took the request.
 */
export type ExtraHandler = (req: IncomingMessage, res: ServerResponse, path: string) => boolean

/** Everything a request handler needs, built once at start. */
export interface GatewayContext {
  config: CisternConfig
  cache: Cache<StoredResponse>
  router: Router
  upstreams: ReadonlyMap<string, { config: UpstreamConfig; client: UpstreamClient }>
  now: () => number
  /** Hears every served request: route name, X-Cache-Status, duration. Feeds stats and metrics. */
  onServed?: (route: string, status: string, durationMs: number) => void
  /**
   * Hears every successful read of a cached route that has a `refresh` policy: the key and its route.
   * The refresh scheduler enrolls keys here and keeps `while: hot` alive; it must stay O(1).
   */
  onRead?: (key: string, route: RouteConfig) => void
  /** Asked in order before routing; see ExtraHandler. */
  extraHandlers: ExtraHandler[]
  /** What instances sharing the store share beyond the entries; absent for a single instance. */
  coordination?: Coordination
}
