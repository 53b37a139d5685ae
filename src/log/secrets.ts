import type { AuthConfig, CisternConfig } from '../config/types.js'

/**
 * Every secret value in a resolved config, for the log scrubber: the admin token, upstream
 * credentials (and the Basic header they produce), extra upstream header values, webhook and notify
 * secrets, notify URLs (chat webhook URLs carry their token in the path) and store URL passwords.
 */
export function secretsOf(config: CisternConfig): string[] {
  const found: string[] = []
  if (config.admin.token) found.push(config.admin.token)
  for (const upstream of Object.values(config.upstreams)) {
    if (upstream.auth) found.push(...authSecrets(upstream.auth))
    found.push(...Object.values(upstream.headers))
  }
  for (const hook of config.webhooks) found.push(...hook.verify.secrets)
  for (const target of config.notify) {
    if (target.secret) found.push(target.secret)
    found.push(...urlSecrets(target.url, true))
  }
  if (config.store.kind === 'redis' || config.store.kind === 'postgres') {
    found.push(...urlSecrets(config.store.url, false))
  }
  return found.filter((value) => value.length > 0)
}

function authSecrets(auth: AuthConfig): string[] {
  switch (auth.kind) {
    case 'basic':
      return [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64')]
    case 'bearer':
      return auth.tokens
    case 'oauth2': {
      // The Basic header the token request carries, besides the secret itself.
      const pair = `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`
      return [auth.clientSecret, Buffer.from(pair).toString('base64')]
    }
    default:
      return auth.values
  }
}

function urlSecrets(value: string, withPath: boolean): string[] {
  try {
    const url = new URL(value)
    const out = [decodeURIComponent(url.password)]
    if (withPath && url.pathname.length > 1) out.push(url.pathname.slice(1), value)
    return out
  } catch {
    return [value]
  }
}
