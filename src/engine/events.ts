import diagnostics_channel from 'node:diagnostics_channel'

/**
 * Tracing through diagnostics_channel: subscribe with
 * `diagnostics_channel.subscribe('cistern:cache:hit', (message) => ...)`. Publishing checks
 * `hasSubscribers` first, so events cost a property read when nobody listens.
 */
export interface CacheEventMap {
  hit: { key: string; tier: 'memory' | 'store' }
  miss: { key: string }
  stale: { key: string; reason: 'stale' | 'timeout' }
  fetch: {
    key: string
    durationMs: number
    outcome: 'stored' | 'not-modified' | 'not-stored' | 'error'
    /** 'background' for stale-while-revalidate and cache.refresh(); 'foreground' when a caller waits. */
    lane: 'foreground' | 'background'
  }
  error: { key: string; error: unknown; phase: 'factory' | 'store' | 'serialize' | 'background' }
}

export type CacheEventName = keyof CacheEventMap

export const channels = {
  hit: diagnostics_channel.channel('cistern:cache:hit'),
  miss: diagnostics_channel.channel('cistern:cache:miss'),
  stale: diagnostics_channel.channel('cistern:cache:stale'),
  fetch: diagnostics_channel.channel('cistern:cache:fetch'),
  error: diagnostics_channel.channel('cistern:cache:error'),
} as const satisfies Record<CacheEventName, diagnostics_channel.Channel>

export function publish<N extends CacheEventName>(name: N, message: () => CacheEventMap[N]): void {
  const channel = channels[name]
  if (channel.hasSubscribers) channel.publish(message())
}
