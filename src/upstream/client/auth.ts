import type { AuthConfig } from '../../config/types.js'

/**
 * Credentials cistern adds to upstream calls. A list of values is a key pool: the budget picks the
 * key for each call, and each key has its own budget and its own pause. `oauth2` is one credential
 * whose access token is fetched and renewed by the client (see oauth2.ts).
 */
export type AuthSpec = AuthConfig | undefined

/** How many interchangeable credentials the upstream has (1 when there is no pool). */
export function keyCount(auth: AuthSpec): number {
  if (auth === undefined) return 1
  if (auth.kind === 'bearer') return auth.tokens.length
  if (auth.kind === 'header' || auth.kind === 'query') return auth.values.length
  return 1
}

/**
 * Apply credential `keyIndex` to the outgoing headers or query. `accessToken`: the current OAuth 2.0
 * token, which the client fetches (asynchronously) before it asks for the call's permit.
 */
export function applyAuth(
  auth: AuthSpec,
  keyIndex: number,
  headers: Record<string, string>,
  query: URLSearchParams,
  accessToken?: string,
): void {
  switch (auth?.kind) {
    case undefined:
      return
    case 'basic':
      headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
      return
    case 'bearer':
      headers.authorization = `Bearer ${auth.tokens[keyIndex % auth.tokens.length]}`
      return
    case 'header':
      headers[auth.name.toLowerCase()] = auth.values[keyIndex % auth.values.length]!
      return
    case 'query':
      query.set(auth.name, auth.values[keyIndex % auth.values.length]!)
      return
    case 'oauth2':
      if (accessToken === undefined) throw new Error('oauth2: no access token fetched for this call')
      headers.authorization = `Bearer ${accessToken}`
      return
  }
}

/** Query parameter names that carry secrets, for redacting logged URLs. */
export function secretQueryParams(auth: AuthSpec): string[] {
  return auth?.kind === 'query' ? [auth.name] : []
}
