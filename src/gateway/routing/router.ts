import { decodeParams } from '../../config/path-pattern.js'
import type { HttpMethod, RouteConfig } from '../../config/types.js'
import type { ParamFilter } from './request-target.js'
import { TargetVary } from './target-vary.js'
import { VariantCap } from './variant-cap.js'

/** A route as the gateway serves it: the config plus lookups precomputed once. */
export interface Route {
  config: RouteConfig
  methods: ReadonlySet<string>
  /** Query params left out of the cache key and the upstream call: `query.ignore`, and all but `query.allow`. */
  ignoredQuery: ParamFilter
  /**
   * Request headers this route's upstream has named in `Vary` (of those cistern forwards), learned
   * from its answers: they join every key of the route (see response-vary.ts). The one part of a
   * route that changes while it serves; it only grows, and is bounded by the forwarded headers.
   */
  responseVary: readonly string[]
  /**
   * On a route without a ttl, the upstream-Vary headers learned per request target instead (the key
   * without its `#@vary:` parts → the names), so one resource's Vary does not re-key the others.
   */
  targetVary: TargetVary
  /** Credential headers of the route's upstream besides Authorization and Cookie (clientCredentials). */
  extraCredentials: readonly string[]
  /** The route's maxVariants, with the per-path counts it remembers. */
  variants: VariantCap
}

export type RouteMatch =
  | { kind: 'route'; route: Route; params: Readonly<Record<string, string>> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'none' }

/** Paths longer than this are matched every time rather than remembered. */
const MEMO_MAX_PATH = 256
/**
 * Remembered matches before the memo starts over. With paths at the limit, a full memo holds about
 * 7 MB (measured: the key, the params and the match object of each entry).
 */
const MEMO_MAX_ENTRIES = 10_000

/**
 * First matching route wins, in config order; a path that matches only with other methods is a 405.
 * Clients read the same paths over and over, so route matches are remembered per method and path:
 * the routes are fixed for the router's life, and a remembered match's params are frozen.
 */
export class Router {
  readonly routes: readonly Route[]
  readonly #memo = new Map<string, Map<string, RouteMatch>>()
  #memoized = 0

  constructor(configs: readonly RouteConfig[]) {
    this.routes = configs.map((config) => ({
      config,
      methods: new Set<string>(config.methods),
      ignoredQuery: paramFilter(config.query),
      responseVary: [],
      targetVary: new TargetVary(),
      extraCredentials: config.credentials.filter((name) => name !== 'authorization' && name !== 'cookie'),
      variants: new VariantCap(config.maxVariants),
    }))
  }

  match(method: string, path: string): RouteMatch {
    const known = this.#memo.get(method)?.get(path)
    if (known !== undefined) return known
    if (path.length > MEMO_MAX_PATH) return this.#scan(method, path)
    // `path` is a slice of req.url, and V8 keeps a slice's whole parent alive (query string and
    // all, up to the request size limit); so are the params split from it. The memo keeps its own
    // copy and the params cut from that.
    const own = Buffer.from(path, 'utf8').toString('utf8')
    const match = this.#scan(method, own)
    if (match.kind === 'route') this.#remember(method, own, match)
    return match
  }

  #remember(method: string, path: string, match: RouteMatch & { kind: 'route' }): void {
    if (this.#memoized >= MEMO_MAX_ENTRIES) {
      this.#memo.clear()
      this.#memoized = 0
    }
    Object.freeze(match.params)
    let paths = this.#memo.get(method)
    if (paths === undefined) {
      paths = new Map()
      this.#memo.set(method, paths)
    }
    paths.set(path, match)
    this.#memoized++
  }

  #scan(method: string, path: string): RouteMatch {
    let allow: Set<HttpMethod> | undefined
    for (const route of this.routes) {
      const raw = route.config.pattern.match(path)
      if (raw === undefined) continue
      if (route.methods.has(method)) return { kind: 'route', route, params: decodeParams(raw) }
      allow ??= new Set()
      for (const m of route.config.methods) allow.add(m)
    }
    return allow ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'none' }
  }
}

/** Encode a param value for an upstream path; a splat's slashes stay separators. */
export function encodePathValue(value: string): string {
  return value.includes('/') ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value)
}

/** `ignore` names are dropped; with `allow`, every name not in it is dropped too. */
function paramFilter(query: RouteConfig['query']): ParamFilter {
  const ignore = new Set(query.ignore)
  const allow = query.allow && new Set(query.allow)
  if (!allow) return ignore
  return { has: (name) => ignore.has(name) || !allow.has(name) }
}
