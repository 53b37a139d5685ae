import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Harness, startHarness } from '../gateway/harness.js'

/** What the origin saw of one request. */
export interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
}

export interface Answer {
  status?: number
  /** Header lines; a name given twice is sent as two lines. */
  headers?: [string, string][]
  body?: string
  /** Answer this long after the request ended (to let other requests arrive meanwhile). */
  delayMs?: number
}

/**
 * An origin the test scripts: each path answers with what `answer(path, fn)` says, given the request
 * and how many times that path was asked; unscripted paths are 404. Every request is recorded.
 */
export interface ScriptedOrigin {
  url: string
  seen: Seen[]
  /** Requests for one path (query included), in order. */
  seenFor(path: string): Seen[]
  answer(path: string, fn: (req: Seen, n: number) => Answer): void
  close(): Promise<void>
}

/** `now` dates the answers (a Date from another clock than cistern's would read as age). */
export async function startScriptedOrigin(now: () => number = Date.now): Promise<ScriptedOrigin> {
  const seen: Seen[] = []
  const scripts = new Map<string, (req: Seen, n: number) => Answer>()
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const call: Seen = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }
      seen.push(call)
      const path = call.url.split('?')[0]!
      const script = scripts.get(call.url) ?? scripts.get(path)
      const n = seen.filter((s) => s.url === call.url).length
      const answer = script ? script(call, n) : { status: 404, body: 'not scripted' }
      const lines: [string, string][] = answer.headers ?? []
      const headers: Record<string, string[]> = {}
      for (const [name, value] of lines) {
        const lower = name.toLowerCase()
        headers[lower] = [...(headers[lower] ?? []), value]
      }
      const send = () => {
        res.writeHead(answer.status ?? 200, {
          'content-type': 'text/plain',
          date: new Date(now()).toUTCString(),
          ...headers,
        })
        res.end(answer.body ?? `${call.method} ${call.url} #${n}`)
      }
      if (answer.delayMs === undefined) send()
      else setTimeout(send, answer.delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    seenFor: (path) => seen.filter((s) => s.url === path),
    answer: (path, fn) => scripts.set(path, fn),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A manual clock (ms): tests move it instead of sleeping. */
export interface Clock {
  now: () => number
  advance(ms: number): void
}

export function manualClock(start = Date.now()): Clock {
  let at = start
  return {
    now: () => at,
    advance(ms) {
      at += ms
    },
  }
}

export interface HttpHarness {
  origin: ScriptedOrigin
  clock: Clock
  h: Harness
  /** A request to cistern. */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /**
   * A GET with exactly these headers, over node:http (fetch() adds Cache-Control: no-cache to a
   * conditional request and refuses to send Connection).
   */
  plain(path: string, headers: Record<string, string>): Promise<Response>
  close(): Promise<void>
}

/**
 * cistern in front of a scripted origin: a catch-all route without a ttl (the upstream decides,
 * RFC 9111) on `/*`, all methods, `expect: any`, no retries, plus any `routes` given (YAML list items,
 * matched first). The clock is manual.
 */
export async function startHttpHarness(routes = '', catchAll = ''): Promise<HttpHarness> {
  const clock = manualClock()
  const origin = await startScriptedOrigin(clock.now)
  const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  origin:
    url: "\${ORIGIN_URL}"
    expect: any
    retries: { max: 0 }
routes:
${routes}  - path: /*rest
    upstream: origin
    methods: [GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS]
${catchAll}`
  const h = await startHarness({ yaml, env: { ORIGIN_URL: origin.url }, now: clock.now })
  return {
    origin,
    clock,
    h,
    fetch: (path, init) => fetch(h.url + path, init),
    plain: (path, headers) =>
      new Promise<Response>((resolve, reject) => {
        const req = httpRequest(h.url + path, { headers, agent: false }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            const out = new Headers()
            for (const [name, value] of Object.entries(res.headers))
              for (const line of Array.isArray(value) ? value : [value ?? '']) out.append(name, line)
            const status = res.statusCode ?? 0
            const bodyless = status === 304 || status === 204
            resolve(new Response(bodyless ? null : Buffer.concat(chunks), { status, headers: out }))
          })
        })
        req.on('error', reject)
        req.end()
      }),
    async close() {
      await h.close()
      await origin.close()
    },
  }
}

export const xcache = (res: Response): string | null => res.headers.get('x-cache-status')
export const cacheStatus = (res: Response): string => res.headers.get('cache-status') ?? ''

/** The origin answered this request itself (MISS, BYPASS, REVALIDATED, PASS), rather than the cache. */
export const fromOrigin = (res: Response): boolean => xcache(res) !== 'HIT' && xcache(res) !== 'STALE'
