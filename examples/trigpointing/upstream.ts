/**
 * A simulated TrigpointingUK API (FastAPI, https://api.trigpointing.me/v1): trigs, users, logs and
 * site stats. Its quirks, as the real one has them: reads are public; writes need an Auth0 bearer
 * token (401 `{"detail":"Not authenticated"}` with `WWW-Authenticate: Bearer` without one, 403 for a
 * token without the scope or the wrong owner); errors are FastAPI's `{"detail": …}` (422 with a list
 * of field errors); lists are `{ items, pagination }`; no ETag, Last-Modified or Cache-Control (the
 * team's own API never had them, which is why it cached in Redis); no rate limit. Writes by the old
 * PHP site go straight to the database: `api.legacyCreateTrig()` does that.
 */
import { type JsonAnswer, type JsonApi, type JsonRequest, startJsonApi } from '../sim-upstream/json-api.js'

export interface Trig {
  id: number
  waypoint: string
  name: string
  status_name: string
  condition: string
  wgs_lat: number
  wgs_long: number
  log_count: number
}

export interface User {
  id: number
  name: string
  log_count: number
}

export interface Log {
  id: number
  trig_id: number
  user_id: number
  date: string
  text: string
  score: number
}

/** Auth0 access tokens the simulator accepts: each is one user with its scopes. */
export const TOKENS: Record<string, { userId: number; scopes: string[] }> = {
  'tuk-alice-token': { userId: 1, scopes: ['api:write'] },
  'tuk-bob-token': { userId: 2, scopes: ['api:write'] },
  'tuk-reader-token': { userId: 3, scopes: [] },
}

export interface TrigpointingApi extends JsonApi {
  readonly trigs: Map<number, Trig>
  readonly users: Map<number, User>
  readonly logs: Map<number, Log>
  /** A trig added by the old PHP site, straight into the database: no write goes through cistern. */
  legacyCreateTrig(name: string): Trig
}

const NAMES = ['Pen y Fan', 'Snowdon', 'Scafell Pike', 'Ben Nevis', 'Kinder Scout', 'Cross Fell', 'Dunkery']

export async function startTrigpointingApi(port = 0): Promise<TrigpointingApi> {
  const trigs = new Map<number, Trig>()
  const users = new Map<number, User>()
  const logs = new Map<number, Log>()
  for (let id = 1; id <= 30; id++) {
    trigs.set(id, {
      id,
      waypoint: `TP${String(id).padStart(4, '0')}`,
      name: `${NAMES[id % NAMES.length]} ${Math.ceil(id / NAMES.length)}`,
      status_name: id % 5 === 0 ? 'Destroyed' : 'Pillar',
      condition: id % 3 === 0 ? 'Good' : 'Damaged',
      wgs_lat: 50 + (id % 9) * 0.71,
      wgs_long: -5 + (id % 7) * 0.83,
      log_count: 0,
    })
  }
  for (const [id, name] of ['alice', 'bob', 'reader'].entries())
    users.set(id + 1, { id: id + 1, name, log_count: 0 })
  let nextLog = 1
  const addLog = (trigId: number, userId: number, text: string, score: number): Log => {
    const log = { id: nextLog++, trig_id: trigId, user_id: userId, date: '2026-11-01', text, score }
    logs.set(log.id, log)
    trigs.get(trigId)!.log_count++
    users.get(userId)!.log_count++
    return log
  }
  for (let i = 0; i < 12; i++)
    addLog((i % 6) + 1, (i % 2) + 1, `Visited, pillar in fine shape (${i})`, 5 + (i % 5))

  const detail = (status: number, message: unknown, headers?: Record<string, string>): JsonAnswer => ({
    status,
    body: { detail: message },
    ...(headers && { headers }),
  })
  const page = <T>(items: T[], query: URLSearchParams): JsonAnswer => {
    const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 20) || 20))
    const offset = Math.max(0, Number(query.get('skip') ?? 0) || 0)
    const slice = items.slice(offset, offset + limit)
    return {
      status: 200,
      body: {
        items: slice,
        pagination: { total: items.length, limit, offset, has_more: offset + limit < items.length },
      },
    }
  }
  /** The caller of a write, or the FastAPI answer refusing it. */
  const caller = (request: JsonRequest, scope: string): { userId: number } | JsonAnswer => {
    const match = /^Bearer (.+)$/i.exec(String(request.headers.authorization ?? ''))
    if (!match) return detail(401, 'Not authenticated', { 'www-authenticate': 'Bearer' })
    const token = Object.hasOwn(TOKENS, match[1]!) ? TOKENS[match[1]!] : undefined
    if (!token) return detail(401, 'Could not validate credentials', { 'www-authenticate': 'Bearer' })
    if (!token.scopes.includes(scope)) return detail(403, `Missing required scope: ${scope}`)
    return { userId: token.userId }
  }
  const missing = (field: string): JsonAnswer =>
    detail(422, [{ loc: ['body', field], msg: 'Field required', type: 'missing' }])

  const handle = (request: JsonRequest): JsonAnswer => {
    const { method, query } = request
    const parts = request.path.split('/').filter(Boolean)
    if (parts[0] !== 'v1') return detail(404, 'Not Found')
    const [, resource, rawId, sub] = parts
    if (method === 'GET' && resource === 'stats' && rawId === 'site') {
      return {
        status: 200,
        body: { total_trigs: trigs.size, total_users: users.size, total_logs: logs.size, total_photos: 0 },
      }
    }
    const id = rawId === undefined ? undefined : Number(rawId)
    if (rawId !== undefined && !Number.isInteger(id)) {
      return detail(422, [
        { loc: ['path', 'id'], msg: 'Input should be a valid integer', type: 'int_parsing' },
      ])
    }
    const body = (request.body ?? {}) as Record<string, unknown>
    if (resource === 'trigs') {
      if (method === 'GET' && id === undefined) return page([...trigs.values()], query)
      if (method === 'POST' && id === undefined) {
        const who = caller(request, 'api:admin')
        if (!('userId' in who)) return who
        if (typeof body.name !== 'string') return missing('name')
        return { status: 201, body: api.legacyCreateTrig(body.name) }
      }
      const trig = id === undefined ? undefined : trigs.get(id)
      if (!trig) return detail(404, 'Trigpoint not found')
      if (method === 'GET' && sub === undefined) return { status: 200, body: trig }
      if (method === 'GET' && sub === 'logs') {
        return page([...logs.values()].filter((l) => l.trig_id === trig.id).reverse(), query)
      }
      if (method === 'POST' && sub === 'logs') {
        const who = caller(request, 'api:write')
        if (!('userId' in who)) return who
        if (typeof body.text !== 'string') return missing('text')
        const score = typeof body.score === 'number' ? body.score : 5
        return { status: 201, body: addLog(trig.id, who.userId, body.text, score) }
      }
    }
    if (resource === 'users') {
      if (method === 'GET' && id === undefined) return page([...users.values()], query)
      if (method === 'POST' && id === undefined) {
        if (typeof body.name !== 'string') return missing('name')
        const user = { id: Math.max(...users.keys()) + 1, name: body.name, log_count: 0 }
        users.set(user.id, user)
        return { status: 201, body: user }
      }
      const user = id === undefined ? undefined : users.get(id)
      if (!user) return detail(404, 'User not found')
      if (method === 'GET' && sub === undefined) return { status: 200, body: user }
      if (method === 'GET' && sub === 'logs') {
        return page([...logs.values()].filter((l) => l.user_id === user.id).reverse(), query)
      }
    }
    if (resource === 'logs') {
      if (method === 'GET' && id === undefined) return page([...logs.values()].reverse(), query)
      const log = id === undefined ? undefined : logs.get(id)
      if (!log) return detail(404, 'Log not found')
      if (method === 'GET') return { status: 200, body: log }
      if (method === 'PATCH' || method === 'DELETE') {
        const who = caller(request, 'api:write')
        if (!('userId' in who)) return who
        if (who.userId !== log.user_id) return detail(403, 'You can only change your own logs')
        if (method === 'PATCH') {
          if (typeof body.text === 'string') log.text = body.text
          if (typeof body.score === 'number') log.score = body.score
          return { status: 200, body: log }
        }
        logs.delete(log.id)
        trigs.get(log.trig_id)!.log_count--
        users.get(log.user_id)!.log_count--
        // Answered with the deleted log (ids included), so a cache in front knows what it touched.
        return { status: 200, body: log }
      }
    }
    return detail(method === 'GET' ? 404 : 405, method === 'GET' ? 'Not Found' : 'Method Not Allowed')
  }

  const json = await startJsonApi(
    {
      handle,
      // The team's own API has no rate limit; these two never answer unless switched on.
      throttled: () => detail(429, 'Too Many Requests'),
      unavailable: () => detail(503, 'Service Unavailable'),
    },
    port,
  )
  const api: TrigpointingApi = Object.assign(json, {
    trigs,
    users,
    logs,
    legacyCreateTrig(name: string): Trig {
      const id = Math.max(...trigs.keys()) + 1
      const trig = {
        id,
        waypoint: `TP${String(id).padStart(4, '0')}`,
        name,
        status_name: 'Pillar',
        condition: 'Good',
        wgs_lat: 51.5,
        wgs_long: -1.2,
        log_count: 0,
      }
      trigs.set(id, trig)
      return trig
    },
  })
  return api
}
