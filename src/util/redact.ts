/**
 * The one rule set for removing credentials from what cistern shows: log lines, the change feed and
 * notify payloads, the admin call logs, error bodies and printed configs all go through this file,
 * so a URL reads the same wherever it appears and a secret masked in one place is masked in all.
 */

/** What every secret is replaced with, wherever it was. */
export const MASK = '[REDACTED]'

// Parameter names that are credentials whole, or whose words say so (`auth…`, `…token`, `…_key`).
const EXACT = new Set(['key', 'sig', 'sid', 'pwd', 'pass', 'jwt', 'code_verifier'])
const SECRET_WORD = /token|secret|passw|api[-_.]?key|session|signature|credential/
// `@auth` is the credentials part of a cache key (routing/cache-key.ts).
const SECRET_PREFIX = /^@?auth/
const SECRET_SUFFIX = /[-_.](?:key|sig|pwd|pass)$/

/**
 * True when a query parameter (or `name=value` part) of this name looks like it carries a
 * credential: `token`, `key`, `api_key`, `apikey`, `secret`, `password`, `session`, `sig`,
 * `signature`, `access_token`, `auth…` and their relatives (`refresh_token`, `client_secret`,
 * `X-Api-Key`, `private_key`, `sessionid`), compared case-insensitively; plus `extra` names (an
 * upstream's `auth: { query }` parameter). Masking one harmless parameter too many costs a little
 * debugging; showing one credential costs the credential.
 */
export function isSecretParam(name: string, extra: ReadonlySet<string> = NONE): boolean {
  const lower = name.toLowerCase()
  return (
    EXACT.has(lower) ||
    SECRET_PREFIX.test(lower) ||
    SECRET_WORD.test(lower) ||
    SECRET_SUFFIX.test(lower) ||
    extra.has(lower)
  )
}

const NONE: ReadonlySet<string> = new Set()

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return raw
  }
}

const lowerSet = (names: Iterable<string>): ReadonlySet<string> =>
  new Set([...names].map((name) => name.toLowerCase()))

/**
 * The URL (absolute, or a path with a query, or a cache key with `#name=value` variant parts) with
 * credentials masked: `user:password@` is dropped, and the value of every secret-looking query or
 * variant parameter becomes MASK. Everything else is kept byte for byte, so it still shows what was
 * asked.
 */
export function redactUrl(url: string, extraParams: Iterable<string> = []): string {
  const extra = lowerSet(extraParams)
  const hashAt = url.indexOf('#')
  const beforeHash = hashAt >= 0 ? url.slice(0, hashAt) : url
  const queryAt = beforeHash.indexOf('?')
  const base = (queryAt >= 0 ? beforeHash.slice(0, queryAt) : beforeHash).replace(USERINFO_PREFIX, '$1')
  let out = base
  if (queryAt >= 0) out += `?${maskParts(beforeHash.slice(queryAt + 1), '&', extra)}`
  if (hashAt >= 0) out += `#${maskParts(url.slice(hashAt + 1), '#', extra)}`
  return out
}

function maskParts(text: string, separator: string, extra: ReadonlySet<string>): string {
  return text
    .split(separator)
    .map((part) => {
      const eq = part.indexOf('=')
      const rawName = eq >= 0 ? part.slice(0, eq) : part
      return isSecretParam(decodeName(rawName), extra) ? `${rawName}=${MASK}` : part
    })
    .join(separator)
}

const USERINFO_PREFIX = /^([a-z][a-z\d+.-]*:\/\/)[^/?#@]*@/i

/** Header and field names whose values are credentials wherever they appear in a log line. */
const SECRET_FIELDS = [
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
const FIELDS = SECRET_FIELDS.map(escapeRegExp).join('|')

// `"authorization":"Bearer x"` in a serialized object, whatever the case of the name.
const JSON_FIELD = new RegExp(`("(?:${FIELDS})"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|\\[[^\\]]*\\])`, 'gi')
// `["authorization","Bearer x"]`: header pairs as the gateway keeps them.
const JSON_PAIR = new RegExp(`(\\[\\s*"(?:${FIELDS})"\\s*,\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi')
// `?name=value` / `&name=value` / `#name=value` in any URL or cache key inside any string; the name
// is judged by isSecretParam, the same rule redactUrl applies.
const PARAM = /([?&;#])([^=&#?;\s"'\\]+)=([^&#\s"'\\]*)/g
// `Bearer abc` / `Basic abc` in free text (a message that quotes a header).
const SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/g
// `https://user:password@host`.
const USERINFO = /\b([a-z][a-z\d+.-]*:\/\/)[^/?#@\s"]+@/gi

/**
 * Removes credentials from text (a serialized log line, a JSON body, an error message): known secret
 * values (raw, JSON-escaped and URL-encoded forms), values of credential-named fields and header
 * pairs, secret query parameters (isSecretParam, plus `extraParams`), Bearer/Basic credentials and
 * userinfo in URLs. Works on the final text, so nothing a caller built can slip past it.
 */
export class Scrubber {
  readonly #values: string[]
  readonly #extra: ReadonlySet<string>

  /**
   * `secrets`: values that must never appear; shorter than 4 characters are ignored (they would mask
   * noise). `extraParams`: more query parameter names to mask (an upstream's query auth name).
   */
  constructor(secrets: Iterable<string> = [], extraParams: Iterable<string> = []) {
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
    this.#extra = lowerSet(extraParams)
  }

  scrub(text: string): string {
    let out = text
    for (const value of this.#values) if (out.includes(value)) out = out.split(value).join(MASK)
    return out
      .replace(JSON_FIELD, `$1"${MASK}"`)
      .replace(JSON_PAIR, `$1"${MASK}"`)
      .replace(PARAM, (whole, lead: string, name: string) =>
        isSecretParam(decodeName(name), this.#extra) ? `${lead}${name}=${MASK}` : whole,
      )
      .replace(SCHEME, `$1 ${MASK}`)
      .replace(USERINFO, '$1')
  }
}

const patterns = new Scrubber()

/** Text with every pattern-recognisable credential masked (no configured values): error messages. */
export function redactText(text: string): string {
  return patterns.scrub(text)
}
