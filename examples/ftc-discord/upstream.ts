/**
 * The three outside services of the FTC Discord bot, simulated:
 * - the FTC Events API v2.0: examples/sim-upstream set up the way the real one behaves — HTTP Basic
 *   auth (401 without credentials, 403 with wrong ones), `Last-Modified` and `If-Modified-Since` but
 *   no ETag, date-times without a zone (`2025-11-21T00:00:00`), a per-second rate limit;
 * - The Blue Alliance sending webhooks: Python-serialized JSON bodies (`json.dumps`: `", "` and
 *   `": "` separators, non-ASCII escaped), signed in `X-TBA-HMAC` (hex HMAC-SHA256 of the raw body);
 * - a Discord channel webhook that receives the bot's messages (`POST {content}` → 204).
 */
import { createHmac } from 'node:crypto'
import type { Server } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type SimOptions, type SimUpstream, startSimUpstream } from '../sim-upstream/index.js'

export interface FtcCredentials {
  username: string
  password: string
}

/**
 * The FTC Events API as the bot sees it: Basic auth, Last-Modified only, date-times without a zone,
 * 10 calls a second.
 */
export function startFtcApi(credentials: FtcCredentials, options: SimOptions = {}): Promise<SimUpstream> {
  return startSimUpstream({
    auth: { basic: credentials },
    etag: false,
    lastModified: true,
    localDates: true,
    rateLimit: { perSecond: 10 },
    ...options,
  })
}

/** A TBA webhook message: `message_type` and `message_data`, as in TBA's webhook docs. */
export interface TbaMessage {
  message_type: string
  message_data: Record<string, unknown>
}

/**
 * The body as TBA's Python sends it: `json.dumps` defaults, so `{"a": 1, "b": [1, 2]}` with spaces
 * after `:` and `,`, and every non-ASCII character as `\uXXXX`. The signature covers these exact
 * bytes: a receiver that re-serializes before checking it would refuse every delivery.
 */
export function pythonJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value)
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    )
  }
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
  return `{${entries.map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(', ')}}`
}

/** Deliver one TBA webhook message to `url`, signed with `secret` like TBA does. */
export async function sendTbaWebhook(
  url: string,
  secret: string,
  message: TbaMessage,
  options: { signature?: string } = {},
): Promise<Response> {
  const body = pythonJson(message)
  const signature = options.signature ?? createHmac('sha256', secret).update(body).digest('hex')
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tba-hmac': signature, 'user-agent': 'TBA-Webhooks' },
    body,
  })
}

export interface DiscordChannel {
  /** The channel's webhook URL (what Discord shows under Integrations → Webhooks). */
  readonly url: string
  /** The messages posted, oldest first. */
  readonly messages: { content: string; allowed_mentions?: unknown }[]
  /** Called with each message as it arrives. */
  onMessage?: (content: string) => void
  close(): Promise<void>
}

/**
 * A Discord channel webhook: `POST /api/webhooks/:id/:token` with JSON `{ content }` answers 204;
 * content over 2,000 characters or missing is a 400 with Discord's error shape.
 */
export async function startDiscordChannel(): Promise<DiscordChannel> {
  const messages: DiscordChannel['messages'] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      let message: { content?: unknown; allowed_mentions?: unknown } = {}
      try {
        message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof message
      } catch {}
      const content = message.content
      if (req.method !== 'POST' || !/^\/api\/webhooks\/\d+\/[\w-]+$/.test(req.url ?? '')) {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end('{"message": "Unknown Webhook", "code": 10015}')
        return
      }
      if (typeof content !== 'string' || content.length === 0 || content.length > 2000) {
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end('{"content": ["Must be 2000 or fewer in length."]}')
        return
      }
      messages.push({ content, allowed_mentions: message.allowed_mentions })
      channel.onMessage?.(content)
      res.writeHead(204)
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const channel: DiscordChannel = {
    url: `http://127.0.0.1:${port}/api/webhooks/1234567890/demo-webhook-token`,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return channel
}
