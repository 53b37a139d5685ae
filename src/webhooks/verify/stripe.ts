import type { VerifyConfig } from '../../config/types.js'
import {
  anyMatch,
  checkTimestamp,
  HEX_SHA256,
  headerBytes,
  hmacSha256,
  refuse,
  UNIX_SECONDS,
  type Verifier,
} from './verifier.js'

const MAX_SIGNATURES = 16

/**
 * Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...]` (more than one v1 while Stripe
 * rolls a secret; v0 and unknown schemes are ignored), HMAC-SHA256 over `<t>.<body>` keyed with
 * the `whsec_...` secret used as-is (its UTF-8 bytes, not decoded). The timestamp must be within
 * the tolerance (default 300 s, Stripe's own); Stripe only refuses old ones, this also refuses
 * ones from the future, since the tolerance is about clock skew either way.
 */
export function stripeVerifier(config: VerifyConfig): Verifier {
  const keys = config.secrets.map((secret) => Buffer.from(secret, 'utf8'))
  return (raw, headers, now) => {
    const header = headers['stripe-signature']
    if (!header) return refuse('missing stripe-signature header')
    let timestamp: string | undefined
    const signatures: string[] = []
    for (const part of header.split(',')) {
      const eq = part.indexOf('=')
      if (eq === -1) continue
      const name = part.slice(0, eq).trim()
      const value = part.slice(eq + 1).trim()
      if (name === 't') {
        if (timestamp !== undefined) return refuse('stripe-signature has more than one t=')
        timestamp = value
      } else if (name === 'v1' && HEX_SHA256.test(value) && signatures.length < MAX_SIGNATURES) {
        signatures.push(value.toLowerCase())
      }
    }
    if (timestamp === undefined || !UNIX_SECONDS.test(timestamp)) {
      return refuse('stripe-signature needs t=<seconds since 1970>')
    }
    if (signatures.length === 0) return refuse('stripe-signature has no v1=<hex> signature')
    const expected = keys.map((key) => hmacSha256(key, headerBytes(`${timestamp}.`), raw))
    const match = anyMatch(
      expected,
      signatures.map((value) => Buffer.from(value, 'hex')),
    )
    if (match === -1) return refuse('signature does not match')
    const seconds = Number(timestamp)
    return (
      checkTimestamp(seconds, now, config.tolerance) ?? {
        ok: true,
        timestamp: seconds * 1000,
        signature: signatures[match]!,
      }
    )
  }
}
