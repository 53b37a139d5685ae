import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the origin saw of one request. */
export interface OriginCall {
  url: string
  headers: IncomingMessage['headers']
}

export interface Origin {
  url: string
  calls: OriginCall[]
  /** Extra response headers for paths starting with a prefix (first match wins). */
  headersFor: Map<string, Record<string, string>>
  /** Milliseconds to wait before answering paths starting with a prefix. */
  delayFor: Map<string, number>
  close(): Promise<void>
}

/**
 * A controlled upstream that echoes who asked: every answer is JSON naming the path, the query and
 * the caller's Authorization, Cookie, X-Api-Key, Accept-Language and Accept, with `Cache-Control: max-age=60`
 * unless a test sets other headers for the path. Tests see what reached the upstream, and whose
 * answer a client got.
 */
export async function startOrigin(): Promise<Origin> {
  const calls: OriginCall[] = []
  const headersFor = new Map<string, Record<string, string>>()
  const delayFor = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    calls.push({ url, headers: req.headers })
    const path = url.split('?')[0]!
    const first = <T>(map: Map<string, T>) => [...map].find(([prefix]) => path.startsWith(prefix))?.[1]
    const body = JSON.stringify({
      path,
      query: url.includes('?') ? url.slice(url.indexOf('?') + 1) : '',
      authorization: req.headers.authorization ?? null,
      cookie: req.headers.cookie ?? null,
      apiKey: req.headers['x-api-key'] ?? null,
      acceptLanguage: req.headers['accept-language'] ?? null,
      accept: req.headers.accept ?? null,
      n: calls.length,
    })
    const answer = () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'cache-control': 'max-age=60',
        ...first(headersFor),
      })
      res.end(body)
    }
    const delay = first(delayFor)
    if (delay) setTimeout(answer, delay)
    else answer()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    headersFor,
    delayFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
