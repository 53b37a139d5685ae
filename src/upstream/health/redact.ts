/** Query parameter names that commonly carry credentials (compared case-insensitively). */
export const DEFAULT_SECRET_PARAMS: readonly string[] = [
  'api_key',
  'apikey',
  'api-key',
  'key',
  'token',
  'access_token',
  'auth',
  'client_secret',
  'secret',
  'password',
  'signature',
  'sig',
]

export interface RedactOptions {
  /** What to put in place of a secret value (default `REDACTED`); `false` drops the parameter. */
  mask?: string | false
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

/**
 * The URL with credentials removed: user:password@ is dropped, and the values of the named query
 * parameters are masked (or the parameters dropped). Everything else is kept byte for byte, so the
 * log shows what was sent. Works on absolute URLs and on paths with a query.
 */
export function redactUrl(
  url: string,
  secretParamNames: readonly string[] = DEFAULT_SECRET_PARAMS,
  options: RedactOptions = {},
): string {
  const mask = options.mask ?? 'REDACTED'
  const secrets = new Set(secretParamNames.map((name) => name.toLowerCase()))
  const hashAt = url.indexOf('#')
  const fragment = hashAt >= 0 ? url.slice(hashAt) : ''
  const beforeHash = hashAt >= 0 ? url.slice(0, hashAt) : url
  const queryAt = beforeHash.indexOf('?')
  let base = queryAt >= 0 ? beforeHash.slice(0, queryAt) : beforeHash
  const query = queryAt >= 0 ? beforeHash.slice(queryAt + 1) : undefined
  base = base.replace(/^([a-z][a-z\d+.-]*:\/\/)[^/?#@]*@/i, '$1')
  if (query === undefined) return base + fragment
  const parts: string[] = []
  for (const part of query.split('&')) {
    const eq = part.indexOf('=')
    const rawName = eq >= 0 ? part.slice(0, eq) : part
    if (!secrets.has(decodeName(rawName))) parts.push(part)
    else if (mask !== false) parts.push(`${rawName}=${mask}`)
  }
  return parts.length > 0 ? `${base}?${parts.join('&')}${fragment}` : base + fragment
}
