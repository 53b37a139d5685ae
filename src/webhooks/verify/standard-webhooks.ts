import type { VerifyConfig } from '../../config/types.js'
import {
  anyMatch,
  BASE64_SHA256,
  checkTimestamp,
  headerBytes,
  hmacSha256,
  refuse,
  UNIX_SECONDS,
  type Verifier,
} from './verifier.js'

const SECRET_PREFIX = 'whsec_'
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
/** Ids are replay keys and log fields: bounded, printable. */
const DELIVERY_ID = /^[\x21-\x7e]{1,256}$/
/** More signatures than this in one header is not rotation, it is someone fishing. */
const MAX_SIGNATURES = 16

/** A `whsec_<base64>` secret (or bare base64) as key bytes; anything else is a setup error. */
export function standardWebhooksKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  if (encoded === '' || !BASE64.test(encoded)) {
    throw new Error('a standard-webhooks secret must be whsec_ followed by base64 (as the sender shows it)')
  }
  return Buffer.from(encoded, 'base64')
}

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature` holds a space-separated list of
 * `v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the
 * base64-decoded `whsec_` secret. The timestamp must be within the tolerance (default 5 min);
 * the id is the delivery's replay key.
 *
 * Written on node:crypto rather than the standardwebhooks package's verify(), which the tests use
 * as the independent signer: verify() turns a Buffer body into a UTF-8 string first (so two
 * different invalid-UTF-8 bodies can share a signature), fixes the tolerance at 5 min, and reads
 * the wall clock.
 */
export function standardWebhooksVerifier(config: VerifyConfig): Verifier {
  const keys = config.secrets.map(standardWebhooksKey)
  return (raw, headers, now) => {
    const id = headers['webhook-id']
    const timestamp = headers['webhook-timestamp']
    const signature = headers['webhook-signature']
    if (!id || !timestamp || !signature) {
      return refuse('missing webhook-id, webhook-timestamp or webhook-signature header')
    }
    if (!DELIVERY_ID.test(id)) return refuse('webhook-id must be 1 to 256 printable ASCII characters')
    if (!UNIX_SECONDS.test(timestamp)) return refuse('webhook-timestamp must be whole seconds since 1970')
    const sent = signature.split(' ').filter((part) => part.startsWith('v1,'))
    const candidates = sent
      .slice(0, MAX_SIGNATURES)
      .map((part) => part.slice(3))
      .filter((value) => BASE64_SHA256.test(value))
    if (candidates.length === 0) return refuse('webhook-signature has no v1,<base64> signature')
    const signed = headerBytes(`${id}.${timestamp}.`)
    const expected = keys.map((key) => hmacSha256(key, signed, raw))
    const match = anyMatch(
      expected,
      candidates.map((value) => Buffer.from(value, 'base64')),
    )
    if (match === -1) return refuse('signature does not match')
    const seconds = Number(timestamp)
    return (
      checkTimestamp(seconds, now, config.tolerance) ?? {
        ok: true,
        id,
        timestamp: seconds * 1000,
        signature: candidates[match]!,
      }
    )
  }
}
