import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/**
 * Compares a presented bearer token with the accepted ones in constant time: every token is hashed
 * first, so each comparison is between equal-length digests and leaks neither content nor length,
 * and every accepted token is compared (no early exit), so timing does not tell which one matched.
 */
export class TokenCheck {
  readonly #expected: Buffer[]

  constructor(tokens: string | readonly string[]) {
    this.#expected = (typeof tokens === 'string' ? [tokens] : tokens).map(digest)
  }

  matches(presented: string | undefined): boolean {
    const candidate = digest(presented ?? '')
    let found = 0
    for (const expected of this.#expected) found |= timingSafeEqual(candidate, expected) ? 1 : 0
    return found === 1 && presented !== undefined
  }

  /** The token of `Authorization: Bearer <token>`, or undefined. */
  static bearer(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization
    if (header === undefined) return undefined
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    return match?.[1]
  }
}
