import { createHash } from 'node:crypto'

/** Content hash of a value's bytes: sha256, base64url. Equal digests mean equal bytes. */
export function digestOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url')
}
