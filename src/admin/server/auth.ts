import { randomBytes } from 'node:crypto'
import { isLoopback } from '../../config/schema/net.js'
import type { AdminConfig } from '../../config/types.js'
import { CisternError } from '../../util/errors.js'

export type TokenSource = 'config' | 'env' | 'option' | 'generated'

export interface AdminToken {
  value: string
  source: TokenSource
}

/**
 * The admin API always requires a bearer token. In order: admin.token from the config, the
 * CISTERN_ADMIN_TOKEN environment variable, a token given by the embedding code, else (loopback
 * only) a random one that `cistern serve` prints once at start. Off loopback a configured token is
 * required: the config loader enforces it and so does this, in case a config was built by hand.
 */
export function resolveAdminToken(
  admin: AdminConfig,
  options: { env?: NodeJS.ProcessEnv; token?: string } = {},
): AdminToken {
  const env = options.env ?? process.env
  const configured: AdminToken | undefined = admin.token
    ? { value: admin.token, source: 'config' }
    : env.CISTERN_ADMIN_TOKEN
      ? { value: env.CISTERN_ADMIN_TOKEN, source: 'env' }
      : options.token
        ? { value: options.token, source: 'option' }
        : undefined
  if (configured) return configured
  if (!isLoopback(admin.listen.host)) {
    throw new CisternError(
      'E_CONFIG',
      `admin.listen: ${admin.listen.host} is not a loopback address: set admin.token (or CISTERN_ADMIN_TOKEN) before exposing the admin API`,
    )
  }
  return { value: randomBytes(32).toString('base64url'), source: 'generated' }
}
