import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseSelector, type SingleSelector } from '../stores/store.js'
import { CLOSE_CONNECTION, readBody } from '../util/http-body.js'
import { errorJson, sendJsonText as sendJsonBody } from '../util/http-json.js'

/** A request the admin API refuses: answered as `{ "error": { "code", "message" } }` with `status`. */
export class AdminError extends Error {
  readonly status: number
  readonly code: string
  readonly headers: Record<string, string>

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'AdminError'
    this.status = status
    this.code = code
    this.headers = headers
  }
}

/** Headers on every admin answer: never cached, never framed, never sniffed. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonText(res, status, JSON.stringify(body), headers)
}

/** JSON already serialized (and perhaps scrubbed of secrets). */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  json: string,
  headers: Record<string, string> = {},
): void {
  // A newline, so the answer reads well in a terminal (curl).
  sendJsonBody(res, status, `${json}\n`, { ...BASE_HEADERS, ...headers })
}

export function sendError(res: ServerResponse, error: AdminError): void {
  sendJsonText(res, error.status, errorJson(error.code, error.message), error.headers)
}

const MAX_BODY = 64 * 1024

/** The request body as JSON (an object), at most 64 KB; an empty body is `{}`. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const read = await readBody(req, MAX_BODY)
  if (read.kind === 'too-large') {
    throw new AdminError(413, 'body_too_large', `request body is over ${MAX_BODY} bytes`, CLOSE_CONNECTION)
  }
  if (read.kind === 'aborted') throw new AdminError(400, 'bad_request', 'the request body ended early')
  const text = read.body.toString('utf8').trim()
  if (text === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new AdminError(400, 'invalid_json', 'the request body is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AdminError(400, 'invalid_json', 'the request body must be a JSON object')
  }
  return parsed as Record<string, unknown>
}

/** `limit` from a query: an integer in 1..max, or `fallback` when absent. */
export function parseLimit(value: string | null, fallback: number, max: number): number {
  if (value === null) return fallback
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new AdminError(400, 'invalid_limit', `limit must be an integer from 1 to ${max}`)
  }
  return Number(value)
}

/** `soft=1|true|0|false`. */
export function parseFlag(value: string | null, name: string): boolean {
  if (value === null || value === '0' || value === 'false') return false
  if (value === '1' || value === 'true' || value === '') return true
  throw new AdminError(400, 'bad_request', `${name} must be 1 or 0`)
}

/** The store's selector parser (exactly one non-empty key, tag or prefix), refusing with a 400. */
export function parseSelection(source: { key?: unknown; tag?: unknown; prefix?: unknown }): SingleSelector {
  try {
    return parseSelector(source)
  } catch (error) {
    throw new AdminError(400, 'invalid_selector', (error as Error).message)
  }
}
