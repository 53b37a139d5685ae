/** Credentials, the auth check and the per-second rate limit (with optional key locks). */

import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { SimAuth, SimRateLimit } from './types.js'

interface Parsed {
  bearer?: string
  basic?: { username: string; password: string }
  header?: string
  query?: string
}

function parse(headers: IncomingHttpHeaders, query: URLSearchParams, auth: SimAuth | undefined): Parsed {
  const out: Parsed = {}
  const authz = headers.authorization ?? ''
  const m = /^(\w+)\s+(.+)$/.exec(authz.trim())
  if (m?.[1]?.toLowerCase() === 'bearer') out.bearer = m[2]
  if (m?.[1]?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(m[2] ?? '', 'base64').toString('utf8')
    const i = decoded.indexOf(':')
    if (i >= 0) out.basic = { username: decoded.slice(0, i), password: decoded.slice(i + 1) }
  }
  const headerName = (auth?.header?.name ?? 'x-api-key').toLowerCase()
  const h = headers[headerName]
  if (typeof h === 'string') out.header = h
  const q = query.get(auth?.query?.name ?? 'key')
  if (q !== null) out.query = q
  return out
}

/** The credential a request carries, as a label for stats and per-key limits ('-' when none). */
export function credentialKey(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  auth: SimAuth | undefined,
): string {
  const p = parse(headers, query, auth)
  return p.bearer ?? p.basic?.username ?? p.header ?? p.query ?? '-'
}

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** null when allowed; otherwise 401 (no credentials) or 403 (wrong ones). */
export function checkAuth(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  auth: SimAuth | undefined,
): { status: 401 | 403; message: string } | null {
  if (!auth) return null
  const p = parse(headers, query, auth)
  const basics = auth.basic === undefined ? [] : Array.isArray(auth.basic) ? auth.basic : [auth.basic]
  const any =
    p.bearer !== undefined || p.basic !== undefined || p.header !== undefined || p.query !== undefined
  if (!any) return { status: 401, message: 'Authorization required' }
  const ok =
    (p.bearer !== undefined && (auth.bearer ?? []).some((t) => same(t, p.bearer!))) ||
    (p.basic !== undefined &&
      basics.some((b) => same(b.username, p.basic!.username) && same(b.password, p.basic!.password))) ||
    (p.header !== undefined && (auth.header?.values ?? []).some((v) => same(v, p.header!))) ||
    (p.query !== undefined && (auth.query?.values ?? []).some((v) => same(v, p.query!)))
  return ok ? null : { status: 403, message: 'Invalid credentials' }
}

/** Fixed one-second windows (per key when perKey), plus locks that answer 429 until they expire. */
export class RateLimiter {
  private windows = new Map<string, { second: number; count: number }>()
  private locks = new Map<string, number>()

  /** null when admitted; otherwise the Retry-After in seconds. */
  check(config: SimRateLimit | undefined, key: string, nowMs: number): number | null {
    const lockedFor = Math.max(this.lockLeft(key, nowMs), this.lockLeft('*', nowMs))
    if (lockedFor > 0) return Math.max(1, Math.ceil(lockedFor / 1000))
    if (!config) return null
    const k = config.perKey ? key : '*'
    const second = Math.floor(nowMs / 1000)
    let w = this.windows.get(k)
    if (!w || w.second !== second) {
      if (this.windows.size > 10_000) this.windows.clear()
      w = { second, count: 0 }
      this.windows.set(k, w)
    }
    if (w.count < config.perSecond) {
      w.count++
      return null
    }
    const retryAfter = config.retryAfterSec ?? 1
    if (config.lock) this.lock(k, retryAfter, nowMs)
    return retryAfter
  }

  lock(key: string, seconds: number, nowMs: number): void {
    this.locks.set(key, nowMs + seconds * 1000)
  }

  reset(): void {
    this.windows.clear()
    this.locks.clear()
  }

  private lockLeft(key: string, nowMs: number): number {
    const until = this.locks.get(key)
    if (until === undefined) return 0
    if (until <= nowMs) {
      this.locks.delete(key)
      return 0
    }
    return until - nowMs
  }
}
