/** The control API under /_sim/ (never counted, never rate limited, unaffected by outage modes). */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimMode, SimSettings, SimUpstream } from './types.js'
import { SIM_MODES } from './types.js'

export interface ControlTarget extends SimUpstream {
  describe(): unknown
}

const HELP = {
  name: 'cistern sim-upstream control API',
  endpoints: {
    'GET /_sim/state': 'current settings, URL and events (live or not)',
    'GET /_sim/stats': 'request statistics (total, byPath, byStatus, perSecond, byKey, notModified, writes)',
    'POST /_sim/reset': 'reset the statistics and the call log',
    'GET /_sim/calls?limit=50': 'the last requests (method, url, headers, at, status)',
    'GET /_sim/changes?limit=50': 'the last data changes (match score updates and new matches)',
    'POST /_sim/mode?mode=503&seconds=10': `switch mode (${SIM_MODES.join(' | ')}); seconds: back to up after`,
    'POST /_sim/tick?n=1': 'apply n rounds of live score changes now',
    'POST /_sim/set?latencyMs=200&jitterMs=50': 'change settings (query or JSON body, see SimSettings)',
    'POST /_sim/lock?key=K&seconds=30': 'lock a credential key: 429 with Retry-After until it expires',
  },
}

function send(res: ServerResponse, status: number, value: unknown, after?: () => void): void {
  const body = `${JSON.stringify(value, null, 2)}\n`
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(body, after)
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => {
      text += c
      if (text.length > 65_536) reject(new Error('body too large'))
    })
    req.on('end', () => {
      if (text.trim() === '') return resolve({})
      try {
        const v: unknown = JSON.parse(text)
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) resolve(v as Record<string, unknown>)
        else reject(new Error('body must be a JSON object'))
      } catch {
        reject(new Error('body is not valid JSON'))
      }
    })
    req.on('error', reject)
  })
}

const num = (v: unknown): number | undefined => {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'number' ? v : Number(v)
  if (!Number.isFinite(n)) throw new RangeError(`not a number: ${String(v)}`)
  return n
}
const bool = (v: unknown): boolean | undefined =>
  v === undefined ? undefined : v === true || v === 'true' || v === '1' || v === 1

/** Settings from query parameters and/or a JSON body (JSON-safe subset of SimSettings). */
export function settingsFrom(input: Record<string, unknown>): SimSettings {
  const s: SimSettings = {}
  if (input.mode !== undefined) s.mode = String(input.mode) as SimMode
  const seconds = num(input.seconds)
  if (seconds !== undefined) s.revertAfterMs = seconds * 1000
  const revert = num(input.revertAfterMs)
  if (revert !== undefined) s.revertAfterMs = revert
  for (const k of ['latencyMs', 'jitterMs', 'slowMs', 'retryAfterSec'] as const) {
    const v = num(input[k])
    if (v !== undefined) s[k] = v
  }
  if (input.changeEveryMs !== undefined) s.changeEveryMs = num(input.changeEveryMs) ?? false
  if (input.cacheControl !== undefined) s.cacheControl = String(input.cacheControl) || undefined
  for (const k of ['etag', 'lastModified', 'compress'] as const) {
    const v = bool(input[k])
    if (v !== undefined) s[k] = v
  }
  if (input.surrogateKeys !== undefined) {
    const v = input.surrogateKeys
    s.surrogateKeys =
      v === 'true' || v === true ? true : v === 'false' || v === false || v === '' ? false : String(v)
  }
  const rl = input.rateLimit
  if (typeof rl === 'object' && rl !== null) {
    const o = rl as Record<string, unknown>
    const perSecond = num(o.perSecond)
    s.rateLimit =
      perSecond === undefined
        ? undefined
        : { perSecond, perKey: bool(o.perKey), retryAfterSec: num(o.retryAfterSec), lock: bool(o.lock) }
  } else if (rl !== undefined) {
    const perSecond = num(rl)
    s.rateLimit =
      perSecond === undefined || perSecond <= 0
        ? undefined
        : {
            perSecond,
            perKey: bool(input.perKey),
            retryAfterSec: num(input.rateRetryAfterSec),
            lock: bool(input.lock),
          }
  }
  return s
}

export async function handleControl(sim: ControlTarget, req: IncomingMessage, res: ServerResponse, url: URL) {
  const method = req.method ?? 'GET'
  const action = url.pathname.replace(/^\/_sim\/?/, '').replace(/\/$/, '')
  const q = Object.fromEntries(url.searchParams)
  const limit = Math.min(Math.max(1, Number(q.limit ?? 50) || 50), 1000)
  try {
    if (method === 'GET' && action === '') return send(res, 200, HELP)
    if (method === 'GET' && action === 'state') return send(res, 200, sim.describe())
    if (method === 'GET' && action === 'stats') return send(res, 200, sim.stats())
    if (method === 'GET' && action === 'calls') return send(res, 200, { calls: sim.calls.slice(-limit) })
    if (method === 'GET' && action === 'changes')
      return send(res, 200, { changes: sim.changes.slice(-limit) })
    if (method !== 'POST' && !(method === 'DELETE' && action === 'stats')) {
      return send(res, 405, { error: 'use GET for state/stats/calls/changes, POST for the rest' })
    }
    if (action === 'reset' || action === 'stats') {
      sim.resetStats()
      return send(res, 200, { ok: true })
    }
    if (action === 'tick') {
      const n = Math.min(Math.max(1, Number(q.n ?? 1) || 1), 1000)
      const results = Array.from({ length: n }, () => sim.tick())
      return send(res, 200, { ticks: results })
    }
    if (action === 'lock') {
      const seconds = num(q.seconds) ?? 60
      if (!q.key) return send(res, 400, { error: 'key is required' })
      sim.lockKey(q.key, seconds)
      return send(res, 200, { ok: true, key: q.key, seconds })
    }
    if (action === 'mode' || action === 'set') {
      const settings = settingsFrom({ ...(await readJson(req)), ...q })
      if (action === 'mode' && settings.mode === undefined) {
        return send(res, 400, { error: `mode is required: ${SIM_MODES.join(' | ')}` })
      }
      if (settings.mode !== undefined && !SIM_MODES.includes(settings.mode)) {
        return send(res, 400, { error: `mode must be one of ${SIM_MODES.join(', ')}` })
      }
      // Answer first: 'down-refuse' destroys every socket, this one included.
      return send(res, 200, { ok: true, applying: settings }, () => {
        sim.set(settings).catch(() => {})
      })
    }
    return send(res, 404, { error: `unknown control action ${action}`, help: HELP })
  } catch (err) {
    return send(res, 400, { error: err instanceof Error ? err.message : String(err) })
  }
}

/** The handler of a control-only listener: /_sim/… as on the main port, 404 for anything else. */
export function controlOnly(control: (req: IncomingMessage, res: ServerResponse, url: URL) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://sim.invalid')
    if (url.pathname === '/_sim' || url.pathname.startsWith('/_sim/')) control(req, res, url)
    else send(res, 404, { error: 'control port: only /_sim/… is served here' })
  }
}
