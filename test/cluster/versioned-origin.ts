import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One call the origin received. */
export interface VersionedCall {
  path: string
  at: number
  /** The caller's port: which process made the call (see ownerOfPort). */
  port: number
}

export interface VersionedOrigin {
  url: string
  calls: VersionedCall[]
  /** Calls of one path. */
  callsOf(path: string): VersionedCall[]
  /** The version every path answers with; bump it to make the next fetch a change. */
  version: number
  /** While set, requests are held unanswered (counted on arrival) until release(). */
  hold: boolean
  release(): void
  close(): Promise<void>
}

/**
 * An upstream whose answer changes only when the test says so: `GET <path>` answers
 * `{"path", "version"}` with `max-age=3600`, so every refresh is one call and a change is exactly a
 * version bump. It can hold requests (a refresh in flight, for killing its worker).
 */
export async function startVersionedOrigin(): Promise<VersionedOrigin> {
  const held: Array<() => void> = []
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    origin.calls.push({ path, at: Date.now(), port: req.socket.remotePort ?? 0 })
    const answer = () => respond(res, path, origin.version)
    if (origin.hold) held.push(answer)
    else answer()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin: VersionedOrigin = {
    url: `http://127.0.0.1:${port}`,
    calls: [],
    callsOf: (path) => origin.calls.filter((call) => call.path === path),
    version: 1,
    hold: false,
    release() {
      origin.hold = false
      for (const answer of held.splice(0)) answer()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return origin
}

function respond(res: ServerResponse, path: string, version: number): void {
  if (res.destroyed) return
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' })
  res.end(JSON.stringify({ path, version }))
}
