import type { VerifyConfig } from '../../config/types.js'
import { hmacSha256Verifier } from './hmac-sha256.js'
import { standardWebhooksVerifier } from './standard-webhooks.js'
import { stripeVerifier } from './stripe.js'
import type { Verifier } from './verifier.js'

export { hmacSha256Verifier } from './hmac-sha256.js'
export { standardWebhooksKey, standardWebhooksVerifier } from './standard-webhooks.js'
export { stripeVerifier } from './stripe.js'
export type { HeaderMap, Verifier, VerifyResult } from './verifier.js'

/** The verifier for a webhook's `verify` block; throws when a secret cannot be used by the scheme. */
export function createVerifier(config: VerifyConfig): Verifier {
  if (config.secrets.length === 0) throw new Error('verify needs at least one secret')
  switch (config.scheme) {
    case 'hmac-sha256':
      return hmacSha256Verifier(config)
    case 'standard-webhooks':
      return standardWebhooksVerifier(config)
    case 'stripe':
      return stripeVerifier(config)
  }
}
