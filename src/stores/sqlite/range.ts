/**
 * Key ranges for index scans. SQLite compares TEXT with the BINARY collation, i.e. memcmp over the
 * UTF-8 bytes, which is code point order. A bound computed on UTF-16 code units (as JavaScript
 * compares strings) disagrees with it for astral characters and for U+E000..U+FFFF, so bounds here
 * are computed on the UTF-8 bytes and bound as a blob that the SQL casts back to TEXT without any
 * re-encoding (`key < CAST(? AS TEXT)`).
 */

export interface KeyRange {
  /** Inclusive lower bound: the prefix itself. */
  lower: string
  /** Exclusive upper bound as raw UTF-8 bytes; need not be valid UTF-8. */
  upper: Buffer
}

/** Above every key: valid UTF-8 never contains the byte 0xFF. */
const ABOVE_ALL = Buffer.from([0xff])

/**
 * The keys that start with `prefix` are exactly those in [lower, upper). The upper bound is the
 * prefix with its last byte incremented: valid UTF-8 never ends in 0xFF, so there is no carry, and
 * every string that starts with the prefix's bytes sorts below it while every other string at or
 * above the prefix sorts at or above it.
 */
export function prefixRange(prefix: string): KeyRange {
  if (prefix === '') return { lower: '', upper: ABOVE_ALL }
  const upper = Buffer.from(prefix, 'utf8')
  upper[upper.length - 1]! += 1
  return { lower: prefix, upper }
}

/** Code point (UTF-8 byte) order, the order SQLite keeps keys in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/**
 * Cursors are the last key of the previous page. Encoding them keeps callers from treating them
 * as keys (another driver may put something else in them) and keeps them URL-safe for the admin API.
 */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url')
}

export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8')
}
