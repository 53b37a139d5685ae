import type { AuthConfig, CisternConfig, StoreConfig } from './types.js'

export const REDACTED = '***'

function redactUrl(value: string, keepPath: boolean): string {
  try {
    const url = new URL(value)
    if (url.username) url.username = REDACTED
    if (url.password) url.password = REDACTED
    if (!keepPath) return `${url.protocol}//${url.host}/${REDACTED}`
    if (url.search) url.search = `?${REDACTED}`
    return url.href
  } catch {
    return REDACTED
  }
}

function redactAuth(auth: AuthConfig): AuthConfig {
  switch (auth.kind) {
    case 'basic':
      return { ...auth, password: REDACTED }
    case 'bearer':
      return { ...auth, tokens: auth.tokens.map(() => REDACTED) }
    case 'oauth2':
      return { ...auth, clientSecret: REDACTED }
    default:
      return { ...auth, values: auth.values.map(() => REDACTED) }
  }
}

function redactStore(store: StoreConfig): StoreConfig {
  return store.kind === 'redis' || store.kind === 'postgres'
    ? { ...store, url: redactUrl(store.url, true) }
    : store
}

/**
 * A copy of the config that is safe to print or log: tokens, passwords, keys, webhook secrets,
 * extra upstream header values, credentials in store URLs and notify URLs (chat webhook URLs carry
 * their token in the path) are replaced by `***`. Lengths are not preserved.
 */
export function redactConfig(config: CisternConfig): CisternConfig {
  const upstreams: CisternConfig['upstreams'] = {}
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const headers = Object.fromEntries(Object.keys(upstream.headers).map((key) => [key, REDACTED]))
    upstreams[name] = {
      ...upstream,
      headers,
      ...(upstream.auth ? { auth: redactAuth(upstream.auth) } : {}),
    }
  }
  return {
    ...config,
    admin: { ...config.admin, ...(config.admin.token === undefined ? {} : { token: REDACTED }) },
    store: redactStore(config.store),
    upstreams,
    webhooks: config.webhooks.map((hook) => ({
      ...hook,
      verify: { ...hook.verify, secrets: hook.verify.secrets.map(() => REDACTED) },
    })),
    notify: config.notify.map((target) => ({
      ...target,
      url: redactUrl(target.url, false),
      ...(target.secret === undefined ? {} : { secret: REDACTED }),
    })),
  }
}
