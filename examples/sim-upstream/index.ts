/**
 * A simulated upstream for cistern's demo, integration tests and benchmarks: a sports-events JSON API in the
 * style of the FTC Events API v2.0, with changing scores, HTTP caching semantics, latency, a rate limit,
 * auth, outage switches, statistics and a control API under /_sim/. Uses node:http only.
 */
import { startSimUpstream as start } from './sim.js'
import type { SimOptions, SimUpstream } from './types.js'

export type { Catalogue, CatalogueOptions, CatalogueStats, ChangeClass } from './catalogue.js'
export type {
  SimAuth,
  SimCall,
  SimChange,
  SimEventInfo,
  SimMode,
  SimOptions,
  SimRateLimit,
  SimSecondStats,
  SimSettings,
  SimStats,
  SimTickResult,
  SimUpstream,
} from './types.js'
export { SIM_MODES } from './types.js'

/** Start the simulated upstream on 127.0.0.1 (a random free port unless `port` is given). */
export function startSimUpstream(options: SimOptions = {}): Promise<SimUpstream> {
  return start(options)
}
