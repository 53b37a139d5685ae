import { Gauge, type Registry } from 'prom-client'
import type { Upstream } from '../../upstream/create-upstream.js'
import type { QueueSnapshot } from '../hooks.js'
import { breakerState } from '../upstream-view.js'

export interface TierSizes {
  memory: { entries: number; bytes: number; maxBytes: number }
  /** Undefined when the store did not answer in time. */
  store?: { entries: number; bytes: number }
}

/** What the scrape-time gauges read; every source is asked only when /metrics is scraped. */
export interface GaugeSources {
  upstreams: () => Iterable<Upstream>
  tiers: () => Promise<TierSizes>
  /** Undefined until the refresh scheduler provides its hook. */
  queue: () => Promise<QueueSnapshot | undefined>
  now: () => number
}

type Row = { labels: Record<string, string>; value: number }
type Rows = Record<string, Row[]>

/**
 * Gauges computed when Prometheus scrapes: budget tokens, ceilings and pauses from each budget's
 * snapshot, breaker state, refresh queue depth and lag, entries and bytes per tier. One scrape reads
 * each source once (the gauges of a group share its rows until `newScrape`), and every gauge is
 * reset before it is filled, so a series that no longer exists (an ended pause) is gone.
 */
export function registerGauges(registry: Registry, sources: GaugeSources): { newScrape(): void } {
  const groups = [
    shared(async () => upstreamGauges(sources)),
    shared(async () => queueGauges(await sources.queue())),
    shared(async () => tierGauges(await sources.tiers())),
  ] as const
  const [upstreamRows, queueRows, tierRows] = groups

  const define = (name: string, help: string, labelNames: string[], rows: () => Promise<Rows>) => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset()
        for (const row of (await rows())[name] ?? []) this.set(row.labels, row.value)
      },
    })
  }
  const budget = ['upstream', 'key', 'rate']
  define('cistern_budget_tokens', 'Budget tokens left now, per key and rate', budget, upstreamRows)
  define(
    'cistern_budget_burst',
    'Budget bucket size (the burst ceiling), per key and rate',
    budget,
    upstreamRows,
  )
  define(
    'cistern_budget_paused',
    '1 while a key (or the upstream) is paused',
    ['upstream', 'key'],
    upstreamRows,
  )
  define('cistern_budget_in_flight', 'Upstream calls in flight, per key', ['upstream', 'key'], upstreamRows)
  define('cistern_budget_waiting', 'Calls waiting for a permit, per lane', ['upstream', 'lane'], upstreamRows)
  define(
    'cistern_upstream_up',
    'Breaker state: 1 UP, 0 DOWN or PROBING (absent without a breaker)',
    ['upstream'],
    upstreamRows,
  )
  define('cistern_refresh_queue_depth', 'Due refreshes waiting, per priority', ['priority'], queueRows)
  define(
    'cistern_refresh_lag_seconds',
    'How far behind the oldest due refresh is, per priority',
    ['priority'],
    queueRows,
  )
  define('cistern_cache_entries', 'Entries per tier (memory, store)', ['tier'], tierRows)
  define('cistern_cache_bytes', 'Bytes per tier (memory: records; store: values)', ['tier'], tierRows)
  define('cistern_cache_memory_max_bytes', 'Byte bound of the memory tier', [], tierRows)
  return {
    newScrape() {
      for (const group of groups) group.forget()
    },
  }
}

function upstreamGauges(sources: GaugeSources): Rows {
  const rows: Rows = {}
  const add = (name: string, labels: Record<string, string>, value: number) => {
    const list = rows[name] ?? []
    list.push({ labels, value })
    rows[name] = list
  }
  const now = sources.now()
  for (const upstream of sources.upstreams()) {
    const name = upstream.config.name
    const state = breakerState(upstream)
    if (state !== undefined) add('cistern_upstream_up', { upstream: name }, state === 'UP' ? 1 : 0)
    const snapshot = upstream.budget?.snapshot()
    if (!snapshot) continue
    add('cistern_budget_waiting', { upstream: name, lane: 'foreground' }, snapshot.waiting.foreground)
    add('cistern_budget_waiting', { upstream: name, lane: 'background' }, snapshot.waiting.background)
    for (const key of snapshot.keys) {
      const keyLabels = { upstream: name, key: String(key.index) }
      add('cistern_budget_paused', keyLabels, key.pausedUntil !== undefined && key.pausedUntil > now ? 1 : 0)
      add('cistern_budget_in_flight', keyLabels, key.inFlight)
      for (const rate of key.tokens) {
        add('cistern_budget_tokens', { ...keyLabels, rate: rate.rate }, rate.tokens)
        add('cistern_budget_burst', { ...keyLabels, rate: rate.rate }, rate.burst)
      }
    }
  }
  return rows
}

function queueGauges(queue: QueueSnapshot | undefined): Rows {
  const depth: Row[] = []
  const lag: Row[] = []
  for (const [priority, value] of Object.entries(queue?.priorities ?? {})) {
    if (!value) continue
    depth.push({ labels: { priority }, value: value.depth })
    lag.push({ labels: { priority }, value: value.lagMs / 1000 })
  }
  return { cistern_refresh_queue_depth: depth, cistern_refresh_lag_seconds: lag }
}

function tierGauges(tiers: TierSizes): Rows {
  const entries: Row[] = [{ labels: { tier: 'memory' }, value: tiers.memory.entries }]
  const bytes: Row[] = [{ labels: { tier: 'memory' }, value: tiers.memory.bytes }]
  if (tiers.store) {
    entries.push({ labels: { tier: 'store' }, value: tiers.store.entries })
    bytes.push({ labels: { tier: 'store' }, value: tiers.store.bytes })
  }
  return {
    cistern_cache_entries: entries,
    cistern_cache_bytes: bytes,
    cistern_cache_memory_max_bytes: [{ labels: {}, value: tiers.memory.maxBytes }],
  }
}

/** One computation shared by the gauges of a group during one scrape; `forget` starts the next. */
function shared(compute: () => Promise<Rows>): (() => Promise<Rows>) & { forget(): void } {
  let rows: Promise<Rows> | undefined
  const get = () => {
    rows ??= compute()
    return rows
  }
  return Object.assign(get, {
    forget() {
      rows = undefined
    },
  })
}
