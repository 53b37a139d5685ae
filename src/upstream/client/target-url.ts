/**
 * Joins an upstream's base URL and a rendered path, and proves the result stays under the base: same
 * origin, path inside the base path, no dot segments and no encoded separators. The route templates
 * already encode params, so this is the second of two independent checks.
 */
export interface UpstreamBase {
  origin: string
  /** The base path without a trailing slash ('' for the root). */
  basePath: string
}

export function parseBase(url: string): UpstreamBase {
  const parsed = new URL(url)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`upstream url "${url}" must be http or https`)
  }
  return { origin: parsed.origin, basePath: parsed.pathname.replace(/\/+$/, '') }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const UNSAFE = /(^|\/)(\.|%2e){1,2}(\/|$)|%2f|%5c|\\|[\u0000-\u0020]/i

/** `path` is relative to the base and starts with '/'; returns the request path for the pool. */
export function joinUnderBase(base: UpstreamBase, path: string, query: URLSearchParams): string {
  if (!path.startsWith('/') || path.startsWith('//') || UNSAFE.test(path)) {
    throw new Error(`refusing upstream path "${path}": it could leave the upstream's base path`)
  }
  const search = query.toString()
  return `${base.basePath}${path}${search === '' ? '' : `?${search}`}`
}
