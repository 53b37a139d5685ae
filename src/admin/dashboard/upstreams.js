// Upstream panels: health chips, budget use against the ceiling, recent calls. Text only (no innerHTML).
import { el } from './panels.js'

/** Per upstream: UP/DOWN, and per key and rate a bar of the budget used against its ceiling. */
export function renderUpstreams(upstreams) {
  const chips = document.getElementById('upstream-chips')
  chips.replaceChildren(
    ...upstreams.map((u) =>
      el(
        'span',
        { class: `chip ${stateClass(u.health.state)}`, 'data-upstream-state': u.name },
        `${u.name} ${u.health.state ?? 'n/a'}`,
      ),
    ),
  )
  const box = document.getElementById('upstreams')
  box.replaceChildren(...upstreams.map(upstreamBlock))
}

function upstreamBlock(u) {
  const perMinute = u.limits.rates.reduce(
    (min, rate) => Math.min(min, (rate.count * 60_000) / rate.perMs),
    Number.POSITIVE_INFINITY,
  )
  const keys = u.budget?.keys ?? []
  const minute = keys.reduce((n, key) => n + key.calls.lastMinute, 0)
  const bars = keys.flatMap((key) =>
    key.tokens.map((rate) => {
      const used = Math.max(0, rate.burst - rate.tokens)
      const paused = key.pausedUntil !== undefined && key.pausedUntil > Date.now()
      return el(
        'div',
        { class: 'budget' },
        el('span', {}, `key ${key.index} · ${rate.rate}${paused ? ' · paused' : ''}`),
        el('meter', {
          min: 0,
          max: rate.burst,
          value: used,
          title: `${used.toFixed(1)} of ${rate.burst} tokens in use`,
        }),
        el('span', { class: 'num' }, `${Math.floor(rate.tokens)}/${rate.burst} left`),
      )
    }),
  )
  const error = u.health.lastError
    ? el('p', { class: 'error' }, `last error: ${u.health.lastError.message}`)
    : ''
  return el(
    'div',
    { class: 'upstream', 'data-upstream': u.name },
    el(
      'h3',
      {},
      el('span', { class: `chip ${stateClass(u.health.state)}` }, u.health.state ?? 'n/a'),
      ` ${u.name} `,
      el('small', { class: 'muted' }, u.url),
    ),
    el(
      'p',
      {},
      `${minute} calls in the last minute${Number.isFinite(perMinute) ? ` of ${Math.round(perMinute)} allowed` : ' (no rate ceiling)'}`,
    ),
    ...bars,
    error,
  )
}

function stateClass(state) {
  return state === 'UP' ? 'up' : state === 'DOWN' ? 'down' : state === 'PROBING' ? 'probing' : 'unknown'
}

export function renderCalls(upstreams) {
  const calls = upstreams
    .flatMap((u) => u.recentCalls.calls.map((call) => ({ upstream: u.name, ...call })))
    .sort((a, b) => b.at - a.at)
    .slice(0, 15)
  const rows = calls.map((call) =>
    el(
      'tr',
      {},
      el('td', {}, new Date(call.at).toLocaleTimeString()),
      el('td', {}, call.upstream),
      el('td', {}, call.lane),
      el('td', {}, String(call.status ?? call.outcome)),
      el('td', { class: 'num' }, `${Math.round(call.durationMs)} ms`),
      el('td', { class: 'target', title: call.url ?? call.key ?? '' }, target(call)),
    ),
  )
  const header = el(
    'tr',
    {},
    ...['at', 'upstream', 'lane', 'status', 'took', 'target'].map((h) => el('th', {}, h)),
  )
  document.getElementById('calls').replaceChildren(header, ...rows)
}

/** What was asked: the path and query of the upstream URL (the host is the upstream's), or the cache key. */
function target(call) {
  if (!call.url) return call.key ?? ''
  try {
    const url = new URL(call.url)
    return url.pathname + url.search
  } catch {
    return call.url
  }
}
