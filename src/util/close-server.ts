import type { Server } from 'node:http'
import { withDeadline } from './deadline.js'

/**
 * Close an HTTP server with a grace period: stop accepting, close idle keep-alive sockets now, let
 * requests in flight finish until `graceMs`, then cut whatever is still open. Resolves once the
 * server has closed. The gateway and the admin listener both shut down this way.
 */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  await withDeadline(
    closed,
    graceMs,
    () => {
      server.closeAllConnections()
      return closed
    },
    { unref: true },
  )
}
