import type { AuthConfig } from '../../config/types.js'

/**
 * Credentials cistern adds to upstream calls. A list of values is a key pool: the budget picks the
 * key for each call, and each key has its own budget and its own pause.
 */
export type AuthSpec = AuthConfig | undefined

/** How many interchangeable credentials the upstream has (1 when there is no pool). */
export function keyCount(auth: AuthSpec): number {
  if (auth === undefined) return 1
  if (auth.kind === 'bearer') return auth.tokens.length
  if (auth.kind === 'header' || auth.kind === 'query') return auth.values.length
  return 1
}

/** Apply credential `keyIndex` to the outgoing headers or query. */
export function applyAuth(
  auth: AuthSpec,
  keyIndex: number,
  headers: Record<string, string>,
  query: URLSearchParams,
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
  }
}

/** Query parameter names that carry secrets, for redacting logged URLs. */
export function secretQueryParams(auth: AuthSpec): string[] {
  return auth?.kind === 'query' ? [auth.name] : []
}
