// The dashboard: polls the admin API every 2 s, keeps a short history for the charts (since the
// page opened), follows the change feed, and sends purges. No build step: plain ES modules, with
// uPlot loaded from the admin listener as a classic script (window.uPlot).
import { adoptTokenFromUrl, api, followChanges, forgetToken, setToken, token, Unauthorized } from './api.js'
import { addChange, renderCards, renderQueue, renderRoutes } from './panels.js'
import { renderCalls, renderUpstreams } from './upstreams.js'

const POLL_MS = 2000
const HISTORY = 300 // points: 10 minutes at one every 2 s

const history = { t: [], hitRate: [], saved: [], rps: [], calls: [] }
let previous
let charts
let timer
let feed

function show(id, visible) {
  document.getElementById(id).hidden = !visible
}

function showLogin(message) {
  clearTimeout(timer)
  feed?.abort()
  show('app', false)
  show('logout', false)
  show('login', true)
  const error = document.getElementById('login-error')
  error.hidden = !message
  error.textContent = message ?? ''
  document.getElementById('login-token').focus()
}

function start() {
  show('login', false)
  show('app', true)
  show('logout', true)
  charts ??= createCharts()
  feed = new AbortController()
  followChanges(addChange, feed.signal)
  poll()
}

async function poll() {
  clearTimeout(timer)
  try {
    const [stats, upstreams, queue] = await Promise.all([
      api('/stats'),
      api('/upstreams?calls=15'),
      api('/queue'),
    ])
    const rates = record(stats)
    renderCards(stats, rates.rps)
    renderRoutes(stats)
    renderUpstreams(upstreams.upstreams)
    renderCalls(upstreams.upstreams)
    renderQueue(queue)
    updateCharts()
    document.getElementById('updated').textContent = `updated ${new Date(stats.at).toLocaleTimeString()}`
    document.body.dataset.loaded = 'true'
  } catch (error) {
    if (error instanceof Unauthorized) {
      forgetToken()
      showLogin('The admin API refused this token.')
      return
    }
    document.getElementById('updated').textContent = `admin API unreachable: ${error.message}`
  }
  timer = setTimeout(poll, POLL_MS)
}

/** Adds one point per poll; rates come from the difference with the previous poll. */
function record(stats) {
  const t = stats.totals
  let rps = null
  let callsPerSecond = null
  if (previous && stats.at > previous.at) {
    const seconds = (stats.at - previous.at) / 1000
    rps = Math.max(0, (t.requests - previous.requests) / seconds)
    callsPerSecond = Math.max(0, (t.upstreamCalls - previous.upstreamCalls) / seconds)
  }
  previous = { at: stats.at, requests: t.requests, upstreamCalls: t.upstreamCalls }
  history.t.push(stats.at / 1000)
  history.hitRate.push(t.hitRate === null ? null : t.hitRate * 100)
  history.saved.push(t.usageReduction === null ? null : t.usageReduction * 100)
  history.rps.push(rps)
  history.calls.push(callsPerSecond)
  for (const series of Object.values(history)) if (series.length > HISTORY) series.shift()
  return { rps }
}

function createCharts() {
  const uPlot = window.uPlot
  if (typeof uPlot !== 'function') return undefined
  const make = (id, series, range) => {
    const target = document.getElementById(id)
    const options = {
      width: Math.max(300, target.clientWidth),
      height: 200,
      series: [{}, ...series],
      scales: range ? { y: { range } } : {},
      axes: [{}, { size: 50 }],
    }
    return new uPlot(options, [[], ...series.map(() => [])], target)
  }
  return {
    saving: make(
      'chart-saving',
      [
        { label: 'hit rate %', stroke: '#2a7de1', width: 2 },
        { label: 'API use saved %', stroke: '#1f9d55', width: 2 },
      ],
      [0, 100],
    ),
    traffic: make('chart-traffic', [
      { label: 'requests/s', stroke: '#6b46c1', width: 2 },
      { label: 'upstream calls/s', stroke: '#dd6b20', width: 2 },
    ]),
  }
}

function updateCharts() {
  if (!charts) return
  charts.saving.setData([history.t, history.hitRate, history.saved])
  charts.traffic.setData([history.t, history.rps, history.calls])
}

async function purge(event) {
  event.preventDefault()
  const kind = document.getElementById('purge-kind').value
  const value = document.getElementById('purge-value').value.trim()
  const soft = document.getElementById('purge-soft').checked
  const output = document.getElementById('purge-result')
  if (value === '') return
  const query = new URLSearchParams({ [kind]: value })
  if (soft) query.set('soft', '1')
  try {
    const result = await api(`/entries?${query}`, { method: 'DELETE' })
    output.textContent = `${result.soft ? 'marked stale' : 'purged'} ${result.count} entries`
    output.dataset.count = String(result.count)
    poll()
  } catch (error) {
    output.textContent = `purge failed: ${error.message}`
  }
}

document.getElementById('login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  setToken(document.getElementById('login-token').value.trim())
  start()
})
document.getElementById('logout').addEventListener('click', () => {
  forgetToken()
  showLogin()
})
document.getElementById('purge-form').addEventListener('submit', purge)

adoptTokenFromUrl()
if (token()) start()
else showLogin()
