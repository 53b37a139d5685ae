import type { CisternConfig, UpstreamConfig } from '../../config/types.js'
import type { Cache } from '../../engine/cache.js'
import type { UpstreamClient } from '../../upstream/client/client.js'
import type { StoredResponse } from '../response/stored-response.js'
import type { Router } from '../routing/router.js'

/** Everything a request handler needs, built once at start. */
export interface GatewayContext {
  config: CisternConfig
  cache: Cache<StoredResponse>
  router: Router
  upstreams: ReadonlyMap<string, { config: UpstreamConfig; client: UpstreamClient }>
  now: () => number
  /** Hears every served request: route name, X-Cache-Status, duration. Feeds stats and metrics. */
  onServed?: (route: string, status: string, durationMs: number) => void
}
