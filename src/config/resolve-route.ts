import type { PathPattern } from './path-pattern.js'
import { checkAll, checkRefs, type Findings } from './refs.js'
import type { ParsedRoute } from './schema/route.js'
import { didYouMean } from './suggest.js'
import { compileTemplate, type Template } from './template.js'
import type {
  HttpMethod,
  RefreshConfig,
  RefreshDefaults,
  RouteConfig,
  UpstreamConfig,
  WhilePolicy,
} from './types.js'

const WRITE_METHODS: readonly HttpMethod[] = ['POST', 'PUT', 'PATCH', 'DELETE']

const CREDENTIAL_HEADERS = ['authorization', 'cookie']

export interface RouteContext {
  upstreams: Readonly<Record<string, UpstreamConfig>>
  refreshDefaults: RefreshDefaults
  /** limits.maxVariants, the default of a route's maxVariants. */
  maxVariants: number
  findings: Findings
}

/** The upstream a route uses: the one named, or the only one there is. */
function pickUpstream(route: ParsedRoute, at: (string | number)[], ctx: RouteContext): string {
  const names = Object.keys(ctx.upstreams)
  if (route.upstream === undefined) {
    if (names.length === 1) return names[0]!
    const which = names.length === 0 ? 'no upstreams are defined' : `choose one of ${names.join(', ')}`
    ctx.findings.add([...at, 'upstream'], 'type', `is required (${which})`)
    return ''
  }
  if (!Object.hasOwn(ctx.upstreams, route.upstream)) {
    const known = names.length ? `; upstreams are: ${names.join(', ')}` : '; no upstreams are defined'
    ctx.findings.add(
      [...at, 'upstream'],
      'reference',
      `unknown upstream "${route.upstream}"${didYouMean(route.upstream, names)}${known}`,
    )
  }
  return route.upstream
}

/**
 * `to` defaults to the route path with the upstream's name taken off the front when the path
 * starts with it: `/ftc/:season/matches/:event` on upstream ftc calls `/:season/matches/:event`.
 */
function defaultTo(pattern: PathPattern, upstream: string): Template {
  let segments = pattern.segments
  const first = segments[0]
  if (first?.kind === 'literal' && first.value === upstream) segments = segments.slice(1)
  const source = `/${segments.map((s) => (s.kind === 'literal' ? s.value : `:${s.name}`)).join('/')}`
  return compileTemplate(source, { colonParams: true })
}

function resolveRefresh(
  route: ParsedRoute,
  at: (string | number)[],
  ctx: RouteContext,
): RefreshConfig | undefined {
  const input = route.refresh
  if (!input) return undefined
  const where = [...at, 'refresh']
  const adaptive = input.every === 'adaptive' ? adaptiveBounds(input, where, ctx) : undefined
  if (input.every !== 'adaptive') {
    for (const key of ['min', 'max'] as const) {
      if (input[key] !== undefined)
        ctx.findings.add([...where, key], 'value', 'applies only to every: adaptive')
    }
  }
  const fixed = input.every === 'adaptive' ? undefined : input.every
  const every = input.every === 'adaptive' ? (adaptive?.min ?? ADAPTIVE_DEFAULTS.min) : (fixed ?? route.ttl)
  if (every === undefined)
    ctx.findings.add([...where, 'every'], 'type', 'is required when the route has no ttl')
  else if (every <= 0) ctx.findings.add([...where, 'every'], 'value', 'must be above zero')
  const kind = input.while ?? { kind: 'hot' as const }
  if (input.hotWindow !== undefined && kind.kind !== 'hot') {
    ctx.findings.add([...where, 'hotWindow'], 'value', 'applies only to while: hot')
  }
  let policy: WhilePolicy
  if (kind.kind === 'hot') policy = { kind: 'hot', window: input.hotWindow ?? ctx.refreshDefaults.hotWindow }
  else if (kind.kind === 'always') policy = { kind: 'always' }
  else policy = kind
  return {
    every: every ?? 0,
    ...(adaptive && { adaptive }),
    while: policy,
    priority: input.priority ?? ctx.refreshDefaults.priority,
  }
}

/** Adaptive refresh learns each key's interval within these; 10 s and 10 min unless set. */
const ADAPTIVE_DEFAULTS = { min: 10_000, max: 600_000 }

function adaptiveBounds(
  input: { min?: number | undefined; max?: number | undefined },
  where: (string | number)[],
  ctx: RouteContext,
): { min: number; max: number } | undefined {
  const min = input.min ?? ADAPTIVE_DEFAULTS.min
  const max = input.max ?? Math.max(ADAPTIVE_DEFAULTS.max, min)
  if (min <= 0) {
    ctx.findings.add([...where, 'min'], 'value', 'must be above zero')
    return undefined
  }
  if (max < min) {
    ctx.findings.add(
      [...where, 'max'],
      'value',
      `must not be below min (${input.min === undefined ? 'default ' : ''}${min / 1000}s)`,
    )
    return undefined
  }
  return { min, max }
}

export function resolveRoute(
  route: ParsedRoute,
  index: number,
  ctx: RouteContext,
): Omit<RouteConfig, 'name'> {
  const at = ['routes', index]
  const { findings } = ctx
  const pattern = route.path
  const params = pattern.params
  const upstream = pickUpstream(route, at, ctx)
  const to = route.to ?? defaultTo(pattern, upstream)
  const scope = { params, roots: [] }
  if (!to.source.startsWith('/')) findings.add([...at, 'to'], 'value', `"${to.source}" must start with /`)
  else if (to.source.includes('#')) findings.add([...at, 'to'], 'value', `"${to.source}" must not contain #`)
  checkRefs(to, scope, [...at, 'to'], findings)
  checkAll(route.tags, scope, [...at, 'tags'], findings)
  // A write's invalidations may also read the upstream's JSON answer to it (the created item's ids).
  checkAll(route.invalidates, { params, roots: ['body'] }, [...at, 'invalidates'], findings)

  if (route.invalidates.length > 0 && !route.methods.some((m) => WRITE_METHODS.includes(m))) {
    findings.add(
      [...at, 'invalidates'],
      'value',
      `applies to write methods (POST, PUT, PATCH, DELETE) but this route answers only ${route.methods.join(', ')}`,
    )
  }
  if (!route.cache) {
    for (const key of ['ttl', 'refresh', 'changes', 'warm'] as const) {
      if (route[key] !== undefined) findings.add([...at, key], 'value', 'has no effect with cache: false')
    }
    if (route.prewarm.length) findings.add([...at, 'prewarm'], 'value', 'has no effect with cache: false')
  }

  const changes = route.changes
  if (changes) {
    if ((changes.items === undefined) !== (changes.id === undefined)) {
      const missing = changes.items === undefined ? 'items' : 'id'
      findings.add([...at, 'changes', missing], 'type', 'is required: items and id go together')
    }
    const roots = changes.items ? ['item', 'body'] : ['body']
    checkAll(changes.invalidates, { params, roots }, [...at, 'changes', 'invalidates'], findings)
  }
  const warm = route.warm
  if (warm) {
    const one = warm.paths.length === 1
    warm.paths.forEach((path, i) => {
      const segments = one ? [...at, 'warm', 'path'] : [...at, 'warm', 'path', i]
      if (!path.source.startsWith('/')) findings.add(segments, 'value', `"${path.source}" must start with /`)
      checkRefs(path, { params, roots: warm.each ? ['item', 'body'] : ['body'] }, segments, findings)
    })
  }
  route.prewarm.forEach((path, i) => {
    if (!pattern.match(path.split('?')[0]!)) {
      findings.add(
        [...at, 'prewarm', i],
        'value',
        `"${path}" does not match the route path ${pattern.source}`,
      )
    }
  })

  const upstreamConfig = Object.hasOwn(ctx.upstreams, upstream) ? ctx.upstreams[upstream] : undefined
  const credentials = [...new Set([...CREDENTIAL_HEADERS, ...(upstreamConfig?.clientCredentials ?? [])])]
  // Credentials join a key only as a hash (unless the route is public, when they are not sent at all).
  route.vary.forEach((name, i) => {
    if (credentials.includes(name) || name === 'proxy-authorization')
      findings.add(
        [...at, 'vary', i],
        'value',
        `${name} carries credentials and may not join the key in the clear: routes key on credentials as a hash already (and public routes do not forward them)`,
      )
  })
  const { name: _name, upstream: _upstream, path: _path, to: _to, refresh: _refresh, ...rest } = route
  const refresh = resolveRefresh(route, at, ctx)
  return {
    path: pattern.source,
    pattern,
    upstream,
    to,
    ...rest,
    maxVariants: route.maxVariants ?? ctx.maxVariants,
    credentials,
    ...(refresh ? { refresh } : {}),
    expect: route.expect ?? upstreamConfig?.expect ?? 'json',
  }
}
