import type { AuthConfig, CisternConfig, StoreConfig } from '../config/types.js'
import { MASK, redactUrl } from '../util/redact.js'

/*
 * The secret-bearing fields of a config, in one place: secretsOf lists their values for the log
 * scrubber, redactConfig masks them for printing. A new secret setting is added to both, here.
 */

/**
 * Every secret value in a resolved config, for the log scrubber: the admin and feed tokens, upstream
 * credentials (and the Basic header they produce), extra upstream header values, webhook and notify
 * secrets, notify URLs (chat webhook URLs carry their token in the path) and store URL passwords.
 */
export function secretsOf(config: CisternConfig): string[] {
  const found: string[] = []
  if (config.admin.token) found.push(config.admin.token)
  found.push(...config.feed.tokens)
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

/** Query parameter names the config says carry a credential (upstream `auth: { query }`). */
export function secretParamsOf(config: CisternConfig): string[] {
  return Object.values(config.upstreams).flatMap((upstream) =>
    upstream.auth?.kind === 'query' ? [upstream.auth.name] : [],
  )
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

/**
 * A copy of the config that is safe to print or log: tokens, passwords, keys, webhook secrets and
 * extra upstream header values become MASK; store URLs lose their password and secret parameters;
 * notify URLs keep only their origin (chat webhook URLs carry their token in the path).
 */
export function redactConfig(config: CisternConfig): CisternConfig {
  const upstreams: CisternConfig['upstreams'] = {}
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const headers = Object.fromEntries(Object.keys(upstream.headers).map((key) => [key, MASK]))
    upstreams[name] = {
      ...upstream,
      headers,
      ...(upstream.auth ? { auth: redactAuth(upstream.auth) } : {}),
    }
  }
  return {
    ...config,
    admin: { ...config.admin, ...(config.admin.token === undefined ? {} : { token: MASK }) },
    feed: { ...config.feed, tokens: config.feed.tokens.map(() => MASK) },
    store: redactStore(config.store),
    upstreams,
    webhooks: config.webhooks.map((hook) => ({
      ...hook,
      verify: { ...hook.verify, secrets: hook.verify.secrets.map(() => MASK) },
    })),
    notify: config.notify.map((target) => ({
      ...target,
      url: originOnly(target.url),
      ...(target.secret === undefined ? {} : { secret: MASK }),
    })),
  }
}

function redactAuth(auth: AuthConfig): AuthConfig {
  switch (auth.kind) {
    case 'basic':
      return { ...auth, password: MASK }
    case 'bearer':
      return { ...auth, tokens: auth.tokens.map(() => MASK) }
    case 'oauth2':
      return { ...auth, clientSecret: MASK }
    default:
      return { ...auth, values: auth.values.map(() => MASK) }
  }
}

function redactStore(store: StoreConfig): StoreConfig {
  return store.kind === 'redis' || store.kind === 'postgres' ? { ...store, url: redactUrl(store.url) } : store
}

function originOnly(value: string): string {
  try {
    return `${new URL(value).origin}/${MASK}`
  } catch {
    return MASK
  }
}
