import type { UpstreamConfig } from '../config/types.js'
import type { Budget } from './budget/index.js'
import { createBudget } from './budget/index.js'
import { keyCount } from './client/auth.js'
import { UpstreamClient } from './client/client.js'

export interface Upstream {
  config: UpstreamConfig
  client: UpstreamClient
  budget: Budget | undefined
}

/** An upstream from its config: the budget (when it has a rate) in front of an undici pool. */
export function createUpstream(
  config: UpstreamConfig,
  maxResponseSize: number,
  now: () => number = Date.now,
): Upstream {
  const { budget: limits } = config
  const budget =
    limits.rate.length === 0
      ? undefined
      : createBudget({
          name: config.name,
          rate: limits.rate,
          burst: limits.burst,
          reserve: limits.reserve.kind === 'count' ? limits.reserve.value : `${limits.reserve.value * 100}%`,
          per: limits.per,
          keys: keyCount(config.auth),
          concurrency: limits.concurrency,
          now,
        })
  const client = new UpstreamClient({
    name: config.name,
    url: config.url,
    auth: config.auth,
    timeouts: { ...config.timeouts, total: config.timeout },
    maxResponseSize,
    ...(budget && { budget }),
    now,
  })
  return { config, client, budget }
}
