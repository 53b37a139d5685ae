import { DEFAULT_SECRET_PARAMS } from '../upstream/health/redact.js'

export const MASK = '[REDACTED]'

/** Header and field names whose values are credentials wherever they appear in a log line. */
const SECRET_NAMES = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'api_key',
  'apikey',
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
  'secret',
  'secrets',
  'password',
  'webhook-secret',
  'x-hub-signature-256',
  'x-tba-hmac',
  'stripe-signature',
  'webhook-signature',
]

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const NAMES = SECRET_NAMES.map(escapeRegExp).join('|')
const PARAMS = [...new Set([...DEFAULT_SECRET_PARAMS, 'access_token', 'refresh_token', 'client_secret'])]
  .map(escapeRegExp)
  .join('|')

// `"authorization":"Bearer x"` in a serialized object, whatever the case of the name.
const JSON_FIELD = new RegExp(`("(?:${NAMES})"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|\\[[^\\]]*\\])`, 'gi')
// `["authorization","Bearer x"]`: header pairs as the gateway keeps them.
const JSON_PAIR = new RegExp(`(\\[\\s*"(?:${NAMES})"\\s*,\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi')
// `?api_key=...` / `&token=...` in any URL inside any string.
const QUERY_PARAM = new RegExp(`([?&;](?:${PARAMS})=)[^&#\\s"'\\\\]*`, 'gi')
// `Bearer abc` / `Basic abc` in free text (a message that quotes a header).
const SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/g
// `https://user:password@host`.
const USERINFO = /\b([a-z][a-z\d+.-]*:\/\/)[^/?#@\s"]+@/gi

/**
 * Removes credentials from one serialized log line: known secret values from the config (raw,
 * JSON-escaped and URL-encoded forms), values of credential-named fields and header pairs, secret
 * query parameters, Bearer/Basic credentials and userinfo in URLs. Works on the final text, so
 * nothing a caller logs (messages, bindings, errors) can slip past it.
 */
export class Scrubber {
  readonly #values: string[]

  /** `secrets`: values that must never appear; shorter than 4 characters are ignored (they would mask noise). */
  constructor(secrets: Iterable<string> = []) {
    const forms = new Set<string>()
    for (const secret of secrets) {
      if (secret.length < 4) continue
      forms.add(secret)
      forms.add(JSON.stringify(secret).slice(1, -1))
      forms.add(encodeURIComponent(secret))
      forms.add(new URLSearchParams({ s: secret }).toString().slice(2))
    }
    // Longest first, so a secret that contains another is masked whole.
    this.#values = [...forms].sort((a, b) => b.length - a.length)
  }

  scrub(text: string): string {
    let out = text
    for (const value of this.#values) if (out.includes(value)) out = out.split(value).join(MASK)
    return out
      .replace(JSON_FIELD, `$1"${MASK}"`)
      .replace(JSON_PAIR, `$1"${MASK}"`)
      .replace(QUERY_PARAM, `$1${MASK}`)
      .replace(SCHEME, `$1 ${MASK}`)
      .replace(USERINFO, '$1')
  }
}
