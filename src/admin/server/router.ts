import type { AdminHandler } from '../context.js'
import { AdminError } from '../http.js'
import { deleteEntries, getEntry, listEntries } from '../routes/entries.js'
import { getChanges, getEvents, getQueue } from '../routes/feeds.js'
import { getHealthz, getMetrics, getReadyz } from '../routes/health.js'
import { postRefresh } from '../routes/refresh.js'
import { getStats } from '../routes/stats.js'
import { getUpstreams } from '../routes/upstreams.js'

type Methods = Partial<Record<string, AdminHandler>>

/** The admin API, by exact path. `/entries/{key}` is the one path with a parameter. */
const TABLE = new Map<string, Methods>([
  ['/stats', { GET: getStats }],
  ['/entries', { GET: listEntries, DELETE: deleteEntries }],
  ['/refresh', { POST: postRefresh }],
  ['/upstreams', { GET: getUpstreams }],
  ['/queue', { GET: getQueue }],
  ['/changes', { GET: getChanges }],
  ['/events', { GET: getEvents }],
  ['/metrics', { GET: getMetrics }],
  ['/healthz', { GET: getHealthz }],
  ['/readyz', { GET: getReadyz }],
])
const ENTRY: Methods = { GET: getEntry }

export interface Resolved {
  handler: AdminHandler
  param?: string
}

/** The handler for a method and path, or an AdminError (404 unknown path, 405 with Allow, 400 bad key). */
export function resolve(method: string, path: string): Resolved {
  let methods = TABLE.get(path)
  let param: string | undefined
  if (!methods && path.startsWith('/entries/')) {
    methods = ENTRY
    param = decodeKey(path.slice('/entries/'.length))
  }
  if (!methods) throw new AdminError(404, 'not_found', `no admin endpoint at ${path}`)
  const handler = methods[method] ?? (method === 'HEAD' ? methods.GET : undefined)
  if (!handler) {
    const allow = Object.keys(methods).join(', ')
    throw new AdminError(405, 'method_not_allowed', `${method} is not allowed on ${path}`, { allow })
  }
  return param === undefined ? { handler } : { handler, param }
}

/** Keys contain `/`, `?` and `#`: clients send them URL-encoded as one path segment. */
function decodeKey(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new AdminError(400, 'invalid_key', 'the key is not valid percent-encoding')
  }
}
