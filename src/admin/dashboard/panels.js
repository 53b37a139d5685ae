// Rendering of the admin API's answers. Everything goes through textContent (never innerHTML):
// keys, tags and error messages come from upstream data and must not become markup.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value))
  for (const child of children) node.append(child instanceof Node ? child : String(child))
  return node
}

export const percent = (value) =>
  value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`

export function bytes(value) {
  if (value === null || value === undefined) return '–'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let amount = value
  let unit = 0
  while (amount >= 1024 && unit < units.length - 1) {
    amount /= 1024
    unit++
  }
  return `${unit === 0 ? amount : amount.toFixed(1)} ${units[unit]}`
}

function setStat(name, text, raw) {
  const node = document.querySelector(`[data-stat="${name}"]`)
  if (!node) return
  node.textContent = text
  if (raw !== undefined) node.dataset.value = String(raw)
}

/** The cards: totals from /stats, plus requests per second from the last two polls. */
export function renderCards(stats, rps) {
  const t = stats.totals
  setStat('requests', String(t.requests), t.requests)
  setStat('rps', `${rps === null ? '–' : rps.toFixed(1)} req/s`)
  setStat('hitRate', percent(t.hitRate), t.hitRate)
  setStat('hits', `${t.hits} hits · ${t.stale} stale · ${t.misses} misses`)
  setStat('upstreamCalls', String(t.upstreamCalls), t.upstreamCalls)
  setStat('upstreamErrors', `${t.upstreamErrors} failed · ${t.budgetRefusals} refused by budget`)
  setStat('callsSaved', String(t.callsSaved), t.callsSaved)
  setStat('usageReduction', `${percent(t.usageReduction)} of requests`, t.usageReduction)
  setStat('entries', stats.store.entries === null ? '–' : String(stats.store.entries), stats.store.entries)
  setStat('bytes', `${bytes(stats.store.bytes)} in ${stats.store.kind}`)
  setStat('memoryEntries', String(stats.memory.entries), stats.memory.entries)
  setStat('memoryBytes', `${bytes(stats.memory.bytes)} of ${bytes(stats.memory.maxBytes)}`)
}

export function renderRoutes(stats) {
  const table = document.getElementById('routes')
  const header = [
    'route',
    'requests',
    'hits',
    'stale',
    'misses',
    'hit rate',
    'upstream calls',
    'saved',
    'entries',
    'bytes',
  ]
  const rows = Object.entries(stats.routes).map(([name, r]) =>
    el(
      'tr',
      { 'data-route': name },
      el('td', {}, name),
      ...[
        r.requests,
        r.hits,
        r.stale,
        r.misses,
        percent(r.hitRate),
        r.upstreamCalls,
        r.callsSaved,
        r.entries,
        bytes(r.bytes),
      ].map((cell) => el('td', { class: 'num' }, cell)),
    ),
  )
  table.replaceChildren(el('tr', {}, ...header.map((h) => el('th', {}, h))), ...rows)
}

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

export function renderQueue(queue) {
  const box = document.getElementById('queue')
  if (!queue.available) {
    box.replaceChildren(
      el('p', { class: 'muted' }, 'No refresh scheduler is running (routes without refresh: policies).'),
    )
    return
  }
  const rows = Object.entries(queue.priorities).map(([priority, p]) =>
    el(
      'tr',
      {},
      el('td', {}, priority),
      el('td', { class: 'num' }, p.depth),
      el('td', { class: 'num' }, `${(p.lagMs / 1000).toFixed(1)}s`),
    ),
  )
  const table = el(
    'table',
    {},
    el('tr', {}, el('th', {}, 'priority'), el('th', {}, 'due'), el('th', {}, 'lag')),
    ...rows,
  )
  const next = queue.items
    .slice(0, 8)
    .map((item) =>
      el('li', {}, `${item.priority} ${item.key} due ${new Date(item.dueAt).toLocaleTimeString()}`),
    )
  box.replaceChildren(table, el('ol', { class: 'feed' }, ...next))
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
      el('td', { class: 'target' }, call.url ?? call.key ?? ''),
    ),
  )
  const header = el(
    'tr',
    {},
    ...['at', 'upstream', 'lane', 'status', 'took', 'target'].map((h) => el('th', {}, h)),
  )
  document.getElementById('calls').replaceChildren(header, ...rows)
}

/** Newest first, at most 20. */
export function addChange(event) {
  const list = document.getElementById('changes')
  list.querySelector('.muted')?.remove()
  const e = event.data
  const counts = ['added', 'removed', 'changed']
    .filter((kind) => Array.isArray(e[kind]) && e[kind].length > 0)
    .map((kind) => `${e[kind].length} ${kind}`)
  const at = e.at ? new Date(e.at).toLocaleTimeString() : ''
  list.prepend(el('li', {}, `${at} ${e.route ?? ''} ${e.key ?? ''} ${counts.join(', ')}`.trim()))
  while (list.children.length > 20) list.lastElementChild.remove()
}
