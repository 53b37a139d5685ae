import type { VerifyConfig } from '../../config/types.js'
import { anyMatch, BASE64_SHA256, HEX_SHA256, hmacSha256, refuse, type Verifier } from './verifier.js'

/**
 * `hmac-sha256`: HMAC-SHA256 of the raw body with the secret (its UTF-8 bytes) in one header,
 * `<prefix><digest>`. The Blue Alliance sends `X-TBA-HMAC: <lower-case hex>` (its sender computes
 * `hmac.new(secret.encode('utf-8'), payload.encode('utf-8'), sha256).hexdigest()` over the JSON it
 * posts), GitHub `X-Hub-Signature-256: sha256=<hex>`. No timestamp: replays are caught by body
 * digest instead. Hex is accepted in either case; base64 in its standard alphabet.
 */
export function hmacSha256Verifier(config: VerifyConfig): Verifier {
  const keys = config.secrets.map((secret) => Buffer.from(secret, 'utf8'))
  const shape = config.encoding === 'hex' ? HEX_SHA256 : BASE64_SHA256
  return (raw, headers) => {
    const value = headers[config.header]?.trim()
    if (!value) return refuse(`missing ${config.header} header`)
    if (!value.startsWith(config.prefix)) return refuse(`${config.header} must start with "${config.prefix}"`)
    const encoded = value.slice(config.prefix.length)
    if (!shape.test(encoded)) return refuse(`${config.header} is not a ${config.encoding} SHA-256 digest`)
    const given = Buffer.from(encoded, config.encoding)
    const expected = keys.map((key) => hmacSha256(key, raw))
    if (anyMatch(expected, [given]) === -1) return refuse('signature does not match')
    return { ok: true, signature: encoded.toLowerCase() }
  }
}
