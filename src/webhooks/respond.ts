import type { ServerResponse } from 'node:http'
import { errorBody, sendJsonText } from '../util/http-json.js'

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
  return { status, body: errorBody(code, message), ...(headers && { headers }) }
}

/** Write a reply as JSON, in the shape of every other cistern answer (util/http-json). */
export function sendReply(res: ServerResponse, reply: Reply): void {
  sendJsonText(res, reply.status, JSON.stringify(reply.body), reply.headers)
}
