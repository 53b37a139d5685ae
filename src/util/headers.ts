/**
 * Header fields as node:http and undici hold them (a repeated field is an array of its lines), or a
 * fetch Headers object (which has already joined them).
 */
export type HeaderBag =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>

/**
 * Fields defined as a single value, not a list (RFC 9110, RFC 9111). Joining two of their lines would
 * make a value nobody wrote (`ETag: "a", "b"`, two dates glued by a comma), so a repeat keeps the
 * first line, as RFC 9111 §5.1 asks of Age and §4.2.1 allows for Expires.
 */
const SINGLETON = new Set([
  'age',
  'content-length',
  'content-location',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expires',
  'last-modified',
  'location',
  'retry-after',
  'server',
])

/** Each line of a field as received, in order ([] when absent). Set-Cookie must be read this way. */
export function headerLines(headers: HeaderBag | undefined, name: string): string[] {
  if (!headers) return []
  const lower = name.toLowerCase()
  if (typeof headers.get === 'function') {
    const value = (headers as { get(n: string): string | null }).get(lower)
    return value === null ? [] : [value]
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>
  let value = record[lower]
  if (value === undefined) {
    // Maps built by hand may not be lower-cased; node:http and undici always are.
    for (const key in record) if (key.toLowerCase() === lower) value = record[key]
  }
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : [...value]
}

/**
 * One field's value, whether it came once or repeated: a list field's lines joined with ", " (RFC 9110
 * §5.3), a single-valued field's first line. Not for Set-Cookie, whose lines cannot be joined (a
 * cookie's Expires holds a comma): use headerLines.
 */
export function headerValue(headers: HeaderBag | undefined, name: string): string | undefined {
  const lines = headerLines(headers, name)
  if (lines.length === 0) return undefined
  if (lines.length === 1 || SINGLETON.has(name.toLowerCase())) return lines[0]
  return lines.join(', ')
}

/**
 * Every field reduced to one string by headerValue, Set-Cookie kept as its lines: the shape code
 * that assumes one string per field (http-cache-semantics) can take.
 */
export function singleValued(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name in headers) {
    const lower = name.toLowerCase()
    if (lower === 'set-cookie') {
      const lines = headerLines(headers, name)
      if (lines.length > 0) out[lower] = lines
      continue
    }
    const value = headerValue(headers, name)
    if (value !== undefined) out[lower] = value
  }
  return out
}
