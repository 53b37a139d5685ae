import type { ServerResponse } from 'node:http'

export type WebhookErrorCode =
  | 'method_not_allowed'
  | 'invalid_signature'
  | 'signature_expired'
  | 'body_too_large'
  | 'invalid_json'
  | 'internal_error'
  | 'unavailable'

/** An answer to a delivery, decided before anything is written (so it can be tested without HTTP). */
export interface Reply {
  status: number
  body: Record<string, unknown>
  headers?: Record<string, string>
}

export function errorReply(
  status: number,
  code: WebhookErrorCode,
  message: string,
  headers?: Record<string, string>,
): Reply {
  return { status, body: { error: { code, message } }, ...(headers && { headers }) }
}

/**
 * Write a reply as JSON, in the shape of the gateway's own errors (`{ error: { code, message } }`).
 * The gateway's sendError only knows the gateway's codes, hence this small twin.
 */
export function sendReply(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify(reply.body)
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...reply.headers,
  })
  res.end(body)
}
