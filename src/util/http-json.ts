import type { ServerResponse } from 'node:http'
import { redactText } from './redact.js'

/**
 * The one writer of JSON answers cistern makes itself (gateway, admin, webhooks, change feed). Each
 * layer keeps its own typed list of error codes; the shape, the headers and the masking live here.
 */

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/**
 * `{ "error": { "code", "message" } }`. Messages are built from paths, URLs and other modules'
 * errors, so credentials in them are masked (redactText).
 */
export function errorBody<Code extends string>(
  code: Code,
  message: string,
): { error: { code: Code; message: string } } {
  return { error: { code, message: redactText(message) } }
}

export function errorJson(code: string, message: string): string {
  return JSON.stringify(errorBody(code, message))
}

/**
 * JSON already serialized, never cached; `headers` add to or override the defaults. Once a response
 * has started, a second head cannot be written and the body under way cannot be finished honestly:
 * the connection is cut instead, so the client sees a failure.
 */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  json: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(json)),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(json)
}

/** An error answer: `{ "error": { "code", "message" } }`, the message masked. */
export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJsonText(res, status, errorJson(code, message), headers)
}
