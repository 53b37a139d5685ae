import type { EntryBody } from '../routes/entries.js'
import type { StatsBody } from '../routes/stats.js'
import type { UpstreamBody } from '../routes/upstreams.js'
import { bytes, count, fields, percent, seconds, table } from './format.js'

/**
 * Every request by its X-Cache-Status, in one order (the dashboard's card says the same): the parts
 * add up to the request count.
 */
export function requestBreakdown(t: StatsBody['totals']): string {
  return [
    `hits ${t.hits}`,
    `stale ${t.stale}`,
    `revalidated ${t.revalidated}`,
    `misses ${t.misses}`,
    `bypass ${t.bypass}`,
    `pass ${t.pass}`,
    `errors ${t.errors}`,
  ].join(', ')
}

/** `cistern stats`: totals, then one row per route. */
export function statsView(stats: StatsBody): string {
  const t = stats.totals
  const summary = fields([
    ['requests', `${t.requests} (${requestBreakdown(t)})`],
    ['hit rate', percent(t.hitRate)],
    [
      'upstream calls',
      `${t.upstreamCalls} (failed ${t.upstreamErrors}, refused by budget ${t.budgetRefusals})`,
    ],
    ['calls saved', `${t.callsSaved} (${percent(t.usageReduction)} of requests)`],
    ['store', `${stats.store.kind}: ${count(stats.store.entries)} entries, ${bytes(stats.store.bytes)}`],
    [
      'memory tier',
      `${stats.memory.entries} entries, ${bytes(stats.memory.bytes)} of ${bytes(stats.memory.maxBytes)}`,
    ],
    ['uptime', seconds(stats.uptimeSeconds)],
  ])
  const rows = Object.entries(stats.routes).map(([name, r]) => [
    name,
    r.requests,
    r.hits,
    r.stale,
    r.misses,
    percent(r.hitRate),
    r.upstreamCalls,
    r.callsSaved,
    r.entries,
    bytes(r.bytes),
  ])
  const header = [
    'route',
    'requests',
    'hits',
    'stale',
    'misses',
    'hit rate',
    'upstream',
    'saved',
    'entries',
    'bytes',
  ]
  return `${summary}\n\n${table(header, rows)}`
}

/** `cistern inspect KEY`. */
export function entryView(entry: EntryBody): string {
  const lines = fields([
    ['key', entry.key],
    ['state', `${entry.state} (status ${entry.status ?? '-'}, ttl ${seconds(entry.ttlSeconds)})`],
    ['age', seconds(entry.ageSeconds)],
    ['fetched at', entry.fetchedAt ?? '-'],
    ['fresh until', entry.freshUntil ?? '-'],
    ['stale until', entry.staleUntil ?? '-'],
    ['expires at', entry.expiresAt ?? '-'],
    ['next refresh', entry.nextRefresh ?? '-'],
    ...(entry.whileError
      ? [['while error', `${entry.whileError} (kept scheduled)`] as [string, string]]
      : []),
    ['size', bytes(entry.size)],
    ['tags', entry.tags.join(', ') || '-'],
    ['etag', entry.etag ?? '-'],
    ['in memory', entry.inMemory ? 'yes' : 'no'],
  ])
  const headers = entry.headers.map(([name, value]) => `  ${name}: ${value}`).join('\n')
  return headers ? `${lines}\nheaders:\n${headers}` : lines
}

/** `cistern upstreams`: one row per upstream, then its recent calls. */
export function upstreamsView(upstreams: UpstreamBody[]): string {
  const rows = upstreams.map((u) => {
    const keys = u.budget?.keys ?? []
    const tokens = keys.flatMap((key) => key.tokens.map((rate) => `${Math.floor(rate.tokens)}/${rate.burst}`))
    const paused = keys.filter((key) => key.pausedUntil !== undefined && key.pausedUntil > Date.now()).length
    const minute = keys.reduce((n, key) => n + key.calls.lastMinute, 0)
    return [
      u.name,
      u.health.state ?? 'n/a',
      u.url,
      tokens.join(' ') || '-',
      String(paused),
      String(minute),
      u.health.lastError?.message ?? '-',
    ]
  })
  const parts = [
    table(['upstream', 'state', 'url', 'tokens', 'paused keys', 'calls/min', 'last error'], rows),
  ]
  for (const u of upstreams) {
    if (u.recentCalls.calls.length === 0) continue
    const calls = u.recentCalls.calls.slice(0, 10).map((call) => {
      const target = 'url' in call ? call.url : (call.key ?? '')
      const status = 'outcome' in call ? String(call.status ?? call.outcome) : call.status
      return [
        new Date(call.at).toISOString().slice(11, 23),
        call.lane,
        status,
        `${Math.round(call.durationMs)}ms`,
        target,
      ]
    })
    parts.push(`\nrecent calls to ${u.name}:\n${table(['at', 'lane', 'status', 'took', 'target'], calls)}`)
  }
  return parts.join('\n')
}
