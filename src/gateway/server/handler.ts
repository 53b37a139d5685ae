import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendError } from '../response/send.js'
import { MAX_TARGET_LENGTH, parseTarget, type TargetProblem } from '../routing/request-target.js'
import type { GatewayContext } from './context.js'
import { handleCached } from './handle-cached.js'
import { handlePass } from './handle-pass.js'
import { missingHost } from './listener-limits.js'

const PROBLEMS: Record<TargetProblem, string> = {
  'not-origin-form': 'the request target must be a path starting with a single /',
  'too-long': `the request target is over ${MAX_TARGET_LENGTH} bytes`,
  'dot-segment': 'the path may not contain . or .. segments',
  'empty-segment': 'the path may not contain empty segments (//)',
  'encoded-separator': 'the path may not contain encoded slashes, backslashes or NUL',
  'bad-character': 'the path contains a character that must be percent-encoded',
  'bad-encoding': 'the path has invalid percent-encoding',
}

/** The gateway's request listener: check the target, match a route, then serve or pass through. */
export function createHandler(ctx: GatewayContext) {
  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = ctx.now()
    if (missingHost(req)) {
      sendError(res, 400, 'bad_request', 'an HTTP/1.1 request needs a Host header')
      return
    }
    const target = parseTarget(req.url)
    if (typeof target === 'string') {
      if (target === 'too-long') sendError(res, 414, 'uri_too_long', PROBLEMS[target])
      else sendError(res, 400, 'bad_path', PROBLEMS[target])
      return
    }
    for (const extra of ctx.extraHandlers) if (extra(req, res, target.path)) return
    const method = req.method ?? 'GET'
    const match = ctx.router.match(method, target.path)
    if (match.kind === 'none') {
      sendError(res, 404, 'route_not_found', `no route matches ${target.path}`)
      return
    }
    if (match.kind === 'method-not-allowed') {
      sendError(res, 405, 'method_not_allowed', `${method} is not allowed here`, {
        headers: { allow: match.allow.join(', ') },
      })
      return
    }
    const { route, params } = match
    try {
      if (route.config.cache && (method === 'GET' || method === 'HEAD')) {
        handleCached(ctx, req, res, route, params, target, started)
      } else {
        handlePass(ctx, req, res, route, params, target, started).catch((error: unknown) => fail(res, error))
      }
    } catch (error) {
      fail(res, error)
    }
  }
}

function fail(res: ServerResponse, error: unknown): void {
  const message = error instanceof Error ? error.message : 'unexpected error'
  sendError(res, 500, 'internal_error', message)
}
