import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
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

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/**
 * Compares the presented token with the expected one in constant time: both are hashed first, so
 * the comparison is between equal-length digests and leaks neither content nor length.
 */
export class TokenCheck {
  readonly #expected: Buffer

  constructor(token: string) {
    this.#expected = digest(token)
  }

  matches(presented: string | undefined): boolean {
    return timingSafeEqual(digest(presented ?? ''), this.#expected) && presented !== undefined
  }

  /** The token of `Authorization: Bearer <token>`, or undefined. */
  static bearer(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization
    if (header === undefined) return undefined
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    return match?.[1]
  }
}
