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
  // Every X-Cache-Status, as `cistern stats` lists them: the parts add up to the request count.
  setStat(
    'hits',
    `${t.hits} hits · ${t.stale} stale · ${t.revalidated} revalidated · ${t.misses} misses · ${t.bypass} bypass · ${t.pass} pass · ${t.errors} errors`,
  )
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
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'nothing due now')))
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
  // Keys whose refresh.while cannot be evaluated stay scheduled; say why, so nobody guesses.
  const failing = (queue.whileErrors ?? [])
    .slice(0, 8)
    .map((item) => el('li', {}, `${item.key}: refresh.while cannot be evaluated: ${item.error}`))
  const warnings =
    failing.length > 0 ? [el('ol', { class: 'feed', 'data-while-errors': '' }, ...failing)] : []
  box.replaceChildren(table, el('ol', { class: 'feed' }, ...next), ...warnings)
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
