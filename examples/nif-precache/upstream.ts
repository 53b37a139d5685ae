/**
 * A simulated data.nif.no: the OAuth 2.0 token endpoint (`POST /connect/token`, client credentials)
 * and the tournament API under `/api/v1/ta`, with the real one's quirks — case-insensitive paths with
 * or without a trailing slash, ids in the query string, bearer tokens that expire (`expires_in`) and
 * are then refused with an empty 401 and `WWW-Authenticate: Bearer error="invalid_token"`, ASP.NET
 * problem-details error bodies, no ETag or Last-Modified (every answer is a full body), and an API
 * gateway's rate limit (429 with Retry-After). The listener, the rate limiter and the PRNG are the
 * FTC-style simulator's (examples/sim-upstream).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RateLimiter } from '../sim-upstream/guard.js'
import { Listener } from '../sim-upstream/listener.js'
import { NifData } from './data.js'

export interface NifSimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number
  /** Clock for token expiry, `lastChangeDate` and the rate limit (default Date.now). */
  now?: () => number
  seed?: number
  /** Root tournaments per season (each with a child group), default 2. */
  divisions?: number
  /** Matches per root tournament, default 4. */
  matchesPerTournament?: number
  clientId?: string
  clientSecret?: string
  /** Scopes the client may ask for (default data_org_read_api). */
  scopes?: string[]
  /** Lifetime of an access token, seconds (default 3600). */
  tokenTtlSec?: number
  /** API requests per second before 429 (default 20). */
  perSecond?: number
  /** Delay before each API answer, ms (default 0). */
  latencyMs?: number
}

export interface NifCall {
  method: string
  /** Path and query as sent. */
  url: string
  status: number
  at: number
}

export interface NifSim {
  /** http://127.0.0.1:port */
  readonly url: string
  /** The API base an upstream config points at: url + '/api/v1/ta'. */
  readonly apiUrl: string
  /** The token endpoint: url + '/connect/token'. */
  readonly tokenUrl: string
  readonly data: NifData
  /** API requests (not token requests), oldest first, the last 1,000. */
  readonly calls: readonly NifCall[]
  /** Token requests answered 200 / refused. */
  readonly tokens: { issued: number; refused: number }
  /** Invalidate every issued token (a key rotation): the next API call with one gets 401. */
  revokeTokens(): void
  /** Answer every API call 503 (an outage) until set back to false. */
  setDown(down: boolean): void
  close(): Promise<void>
}

const JSON_TYPE = 'application/json; charset=utf-8'

export async function startNifSim(options: NifSimOptions = {}): Promise<NifSim> {
  const now = options.now ?? Date.now
  const clientId = options.clientId ?? 'cistern-demo'
  const clientSecret = options.clientSecret ?? 'demo-secret'
  const scopes = options.scopes ?? ['data_org_read_api']
  const ttlSec = options.tokenTtlSec ?? 3600
  const limiter = new RateLimiter()
  const rate = { perSecond: options.perSecond ?? 20, retryAfterSec: 1 }
  const data = new NifData(options.seed ?? 2025, now, {
    divisions: options.divisions ?? 2,
    matches: options.matchesPerTournament ?? 4,
  })
  const issued = new Map<string, number>()
  const calls: NifCall[] = []
  const tokens = { issued: 0, refused: 0 }
  let down = false

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
    if (text) headers['content-type'] ??= JSON_TYPE
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }
  const problem = (res: ServerResponse, status: number, title: string, extra: object = {}) =>
    send(res, status, {
      type: `https://tools.ietf.org/html/rfc9110#section-15.5.${status === 404 ? 5 : 1}`,
      title,
      status,
      traceId: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`,
      ...extra,
    })

  function token(req: IncomingMessage, res: ServerResponse, body: string) {
    const form = new URLSearchParams(body)
    const refuse = (status: number, error: string) => {
      tokens.refused++
      send(res, status, { error }, status === 401 ? { 'www-authenticate': 'Basic' } : {})
    }
    if (req.method !== 'POST') return send(res, 405, undefined, { allow: 'POST' })
    if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
      return refuse(400, 'invalid_request')
    }
    let id = form.get('client_id')
    let secret = form.get('client_secret')
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')
    if (basic) {
      const [user, pass] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')
      id = decodeURIComponent(user ?? '')
      secret = decodeURIComponent(pass ?? '')
    }
    if (id === null || secret === null || !same(id, clientId) || !same(secret, clientSecret)) {
      return refuse(401, 'invalid_client')
    }
    if (form.get('grant_type') !== 'client_credentials') return refuse(400, 'unsupported_grant_type')
    const asked = (form.get('scope') ?? scopes.join(' ')).split(' ').filter(Boolean)
    if (asked.some((s) => !scopes.includes(s))) return refuse(400, 'invalid_scope')
    const value = randomBytes(24).toString('base64url')
    issued.set(value, now() + ttlSec * 1000)
    tokens.issued++
    send(res, 200, { access_token: value, expires_in: ttlSec, token_type: 'Bearer', scope: asked.join(' ') })
  }

  function api(req: IncomingMessage, res: ServerResponse, url: URL) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
    if (bearer === undefined) return send(res, 401, undefined, { 'www-authenticate': 'Bearer' })
    const expiresAt = issued.get(bearer)
    if (expiresAt === undefined || expiresAt <= now()) {
      const why = expiresAt === undefined ? 'The signature key was not found' : 'The token expired'
      return send(res, 401, undefined, {
        'www-authenticate': `Bearer error="invalid_token", error_description="${why}"`,
      })
    }
    const retryAfter = limiter.check(rate, '*', now())
    if (retryAfter !== null) {
      return send(
        res,
        429,
        { statusCode: 429, message: `Rate limit is exceeded. Try again in ${retryAfter} seconds.` },
        { 'retry-after': String(retryAfter) },
      )
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, undefined, { allow: 'GET' })
    // ASP.NET routing: case-insensitive, a trailing slash or not.
    const path = url.pathname.toLowerCase().replace(/\/+$/, '').slice('/api/v1/ta'.length)
    const id = (name: string) => {
      const value = [...url.searchParams].find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
      return value !== undefined && /^\d{1,10}$/.test(value) ? Number(value) : undefined
    }
    const missing = (name: string) =>
      problem(res, 400, 'One or more validation errors occurred.', {
        errors: { [name]: [`The value '' is invalid.`] },
      })
    const notFound = () => problem(res, 404, 'Not Found')
    const season = /^\/tournament\/season\/(\d{1,10})$/.exec(path)
    if (path === '/seasons') {
      const sportId = id('sportId')
      return sportId === undefined ? missing('sportId') : send(res, 200, { seasons: data.seasonsOf(sportId) })
    }
    if (season) {
      const list = data.tournamentsOf(Number(season[1]))
      return list ? send(res, 200, { tournaments: list }) : notFound()
    }
    if (path === '/tournamentmatches') {
      const tournamentId = id('tournamentId')
      if (tournamentId === undefined) return missing('tournamentId')
      const list = data.matchesOf(tournamentId)
      return list ? send(res, 200, { matches: list }) : notFound()
    }
    if (path === '/match' || path === '/matchincidents') {
      const matchId = id('matchId')
      if (matchId === undefined) return missing('matchId')
      const match = data.match(matchId)
      if (!match) return notFound()
      if (path === '/match') return send(res, 200, { match })
      const goals = (match.homeGoals ?? 0) + (match.awayGoals ?? 0)
      const incidents = Array.from({ length: goals }, (_, i) => ({
        matchIncidentId: matchId * 100 + i,
        incidentType: 'Mål',
        time: 7 + i * 9,
      }))
      return send(res, 200, { matchId, incidents })
    }
    return notFound()
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://nif.invalid')
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= 64 * 1024) chunks.push(chunk)
    })
    req.on('end', () => {
      if (url.pathname === '/connect/token') return token(req, res, Buffer.concat(chunks).toString('utf8'))
      if (!url.pathname.toLowerCase().startsWith('/api/v1/ta/')) return send(res, 404, undefined)
      const answer = () => {
        if (res.destroyed) return
        res.on('finish', () => {
          calls.push({ method: req.method ?? 'GET', url: req.url ?? '/', status: res.statusCode, at: now() })
          if (calls.length > 1000) calls.shift()
        })
        if (down) return send(res, 503, '<h1>503 Service Unavailable</h1>', { 'content-type': 'text/html' })
        api(req, res, url)
      }
      if (options.latencyMs) setTimeout(answer, options.latencyMs)
      else answer()
    })
  }

  const listener = new Listener(options.port ?? 0, '127.0.0.1', handler)
  await listener.open()
  return {
    url: listener.url,
    apiUrl: `${listener.url}/api/v1/ta`,
    tokenUrl: `${listener.url}/connect/token`,
    data,
    calls,
    tokens,
    revokeTokens: () => issued.clear(),
    setDown(value) {
      down = value
    },
    close: () => listener.close(),
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
