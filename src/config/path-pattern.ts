/**
 * Route and webhook paths: `/ftc/:season/teams/:team`. A segment is literal text, a parameter
 * `:name` (one whole, non-empty segment) or, last only, a splat `*name` (the rest of the path, one
 * or more segments, slashes included).
 */
export type PatternSegment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'splat'; name: string }

export interface PathPattern {
  readonly source: string
  readonly segments: readonly PatternSegment[]
  /** Parameter names in order of appearance (the splat included). */
  readonly params: readonly string[]
  /** The pattern with parameter names erased: two patterns with one shape match the same paths. */
  readonly shape: string
  /**
   * Match a request path (no query). Returns the parameters as they appear in the path (still
   * percent-encoded), or undefined.
   */
  match(pathname: string): Record<string, string> | undefined
  toJSON(): string
}

export class PathPatternError extends Error {
  override name = 'PathPatternError'
}

const NAME = /^[A-Za-z_]\w*$/
// RFC 3986 pchar without ":" (which starts a parameter): unreserved, pct-encoded, sub-delims, "@".
const LITERAL = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})*$/

export function parsePathPattern(source: string): PathPattern {
  if (!source.startsWith('/')) throw new PathPatternError(`"${source}" must start with "/"`)
  if (/[?#]/.test(source)) {
    throw new PathPatternError(`"${source}" must be a path only, without "?" or "#"`)
  }
  const raw = source === '/' ? [''] : source.slice(1).split('/')
  const segments: PatternSegment[] = []
  const params: string[] = []
  raw.forEach((text, index) => {
    const last = index === raw.length - 1
    if (text === '' && !last) throw new PathPatternError(`"${source}" has an empty segment ("//")`)
    if (text.startsWith(':') || text.startsWith('*')) {
      const kind = text.startsWith(':') ? 'param' : 'splat'
      const name = text.slice(1) || (kind === 'splat' ? 'rest' : '')
      if (!NAME.test(name)) {
        throw new PathPatternError(
          `"${text}" in "${source}" is not a valid parameter (a parameter is a whole segment, :name or *name, name of letters, digits and _)`,
        )
      }
      if (kind === 'splat' && !last) {
        throw new PathPatternError(`"${text}" in "${source}": a splat must be the last segment`)
      }
      if (params.includes(name)) {
        throw new PathPatternError(`"${source}" uses the parameter "${name}" twice`)
      }
      params.push(name)
      segments.push({ kind, name })
      return
    }
    if (!LITERAL.test(text) || text.includes(':') || text === '.' || text === '..') {
      throw new PathPatternError(
        `"${text}" in "${source}" is not a valid path segment (letters, digits, -._~ and percent-encoding; parameters are whole segments like :id)`,
      )
    }
    segments.push({ kind: 'literal', value: text })
  })
  const shape = `/${segments
    .map((s) => (s.kind === 'literal' ? s.value : s.kind === 'param' ? ':' : '*'))
    .join('/')}`
  return {
    source,
    segments,
    params,
    shape,
    match: (pathname) => matchSegments(segments, pathname),
    toJSON: () => source,
  }
}

function matchSegments(
  segments: readonly PatternSegment[],
  pathname: string,
): Record<string, string> | undefined {
  if (!pathname.startsWith('/')) return undefined
  const parts = pathname === '/' ? [''] : pathname.slice(1).split('/')
  const params: Record<string, string> = {}
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    const part = parts[i]
    if (part === undefined) return undefined
    if (segment.kind === 'literal') {
      if (part !== segment.value) return undefined
    } else if (segment.kind === 'param') {
      if (part === '') return undefined
      params[segment.name] = part
    } else {
      const rest = parts.slice(i).join('/')
      // One or more segments: an empty one inside (`a//b`, `/b`) would reach the upstream as `//`.
      if (rest === '' || rest.startsWith('/') || rest.includes('//')) return undefined
      params[segment.name] = rest
      return params
    }
  }
  return parts.length === segments.length ? params : undefined
}

/**
 * Decode matched params once. Callers match only request targets already checked by the gateway
 * (valid percent-encoding, no encoded separators), so decoding cannot fail or add a `/`.
 */
export function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {}
  for (const name in raw) {
    const value = raw[name]!
    params[name] = value.includes('%') ? decodeURIComponent(value) : value
  }
  return params
}
