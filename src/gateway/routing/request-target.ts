/**
 * The client's request target, checked before anything else looks at it. Only origin-form targets
 * (`/path?query`) are accepted: absolute URLs, `..` or `.` segments (raw or encoded), empty segments
 * (`//`), encoded slashes and backslashes, control characters and NUL are refused, so no client input
 * can steer cistern to another host or outside an upstream's base path, or make a param value that
 * the upstream client would refuse (a 400 here, not a 502 counted against the upstream).
 */
export interface RequestTarget {
  /** The path as sent (percent-encoding kept), e.g. `/ftc/2024/teams/123`. */
  path: string
  /** The raw query string without `?` ('' when absent). */
  query: string
}

export type TargetProblem =
  | 'not-origin-form'
  | 'too-long'
  | 'dot-segment'
  | 'empty-segment'
  | 'encoded-separator'
  | 'bad-character'
  | 'bad-encoding'

/**
 * Longest request target accepted (414 above). RFC 9110 §4.1 asks for at least 8000 octets; longer
 * ones are still under node's 16 KB header limit, so they would be matched, keyed and forwarded.
 */
export const MAX_TARGET_LENGTH = 8000

const FORBIDDEN_ESCAPES = /%(2f|5c|00)/i
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i
// Controls, space, backslash and characters never valid unescaped in a path.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const BAD_CHARACTER = /[\u0000-\u0020\u007f\\<>"{}|^`]/

export function parseTarget(url: string | undefined): RequestTarget | TargetProblem {
  if (url === undefined || url.charCodeAt(0) !== 47 /* / */ || url.startsWith('//')) return 'not-origin-form'
  if (url.length > MAX_TARGET_LENGTH) return 'too-long'
  const hash = url.indexOf('#')
  const withoutFragment = hash === -1 ? url : url.slice(0, hash)
  const q = withoutFragment.indexOf('?')
  const path = q === -1 ? withoutFragment : withoutFragment.slice(0, q)
  const query = q === -1 ? '' : withoutFragment.slice(q + 1)
  if (BAD_CHARACTER.test(path)) return 'bad-character'
  if (path.includes('%')) {
    if (FORBIDDEN_ESCAPES.test(path)) return 'encoded-separator'
    try {
      decodeURIComponent(path)
    } catch {
      return 'bad-encoding'
    }
  }
  if (DOT_SEGMENT.test(path)) return 'dot-segment'
  // A trailing slash is a path of its own (`/a/`); an empty segment inside one is never meant.
  if (path.includes('//')) return 'empty-segment'
  return { path, query }
}

/** Which query params a route leaves out (of its key and its upstream call). */
export interface ParamFilter {
  has(name: string): boolean
}

/** Query pairs, decoded, ignoring the named params; sorted by name then value for the cache key. */
export function normalizeQuery(query: string, ignore: ParamFilter): string {
  if (query === '') return ''
  const pairs: [string, string][] = []
  for (const [name, value] of new URLSearchParams(query)) {
    if (!ignore.has(name)) pairs.push([name, value])
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  return new URLSearchParams(pairs).toString()
}
