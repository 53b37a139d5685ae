import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { answerClientErrors } from '../../gateway/server/client-error.js'
import {
  capConnections,
  connectionCaps,
  listenerOptions,
  missingHost,
} from '../../gateway/server/listener-limits.js'
import { TokenCheck } from '../../util/token-check.js'
import type { AdminContext } from '../context.js'
import { AdminError, sendError } from '../http.js'
import { isAsset, serveAsset, serveIndex } from '../routes/dashboard.js'
import { resolve } from './router.js'

const UNAUTHORIZED = new AdminError(
  401,
  'unauthorized',
  'missing or wrong admin token (Authorization: Bearer <token>)',
  {
    'www-authenticate': 'Bearer realm="cistern-admin"',
  },
)

/**
 * The admin listener's request handler. Static dashboard assets are public (they hold no data);
 * GET / checks the token itself (see serveIndex); every other path needs the bearer token before
 * anything else is looked at, unknown paths included, so a caller without it learns nothing.
 */
export function createAdminServer(ctx: AdminContext, token: string): Server {
  const check = new TokenCheck(token)
  const server = createServer(listenerOptions(ctx.config.server), (req, res) => {
    handle(ctx, check, req, res).catch((error: unknown) => {
      if (error instanceof AdminError) {
        sendError(res, error)
        return
      }
      ctx.logger.error(
        { error: error instanceof Error ? error.message : String(error), path: pathOf(req) },
        'admin: request failed',
      )
      sendError(res, new AdminError(500, 'internal_error', 'the admin API failed to answer; see the logs'))
    })
  })
  const cap = connectionCaps(ctx.config.server.maxConnections).admin
  capConnections(server, cap, () => ctx.observer.connectionDropped('admin', cap))
  answerClientErrors(server)
  return server
}

async function handle(
  ctx: AdminContext,
  check: TokenCheck,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET'
  if (missingHost(req)) throw new AdminError(400, 'bad_request', 'an HTTP/1.1 request needs a Host header')
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://admin.invalid')
  } catch {
    throw new AdminError(400, 'bad_request', 'malformed request target')
  }
  ctx.logger.debug({ method, path: url.pathname }, 'admin request')
  const request = { req, res, url }
  if (method === 'GET' && isAsset(url.pathname)) return serveAsset(request)
  const presented =
    TokenCheck.bearer(req) ??
    (url.pathname === '/' ? (url.searchParams.get('token') ?? undefined) : undefined)
  const authorized = check.matches(presented)
  if (method === 'GET' && url.pathname === '/') return serveIndex(request, authorized)
  if (!authorized) throw UNAUTHORIZED
  const { handler, param } = resolve(method, url.pathname)
  await handler(ctx, param === undefined ? request : { ...request, param })
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
