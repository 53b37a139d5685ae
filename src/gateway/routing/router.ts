import { decodeParams } from '../../config/path-pattern.js'
import type { HttpMethod, RouteConfig } from '../../config/types.js'

/** A route as the gateway serves it: the config plus lookups precomputed once. */
export interface Route {
  config: RouteConfig
  methods: ReadonlySet<string>
  ignoredQuery: ReadonlySet<string>
}

export type RouteMatch =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'none' }

/** First matching route wins, in config order; a path that matches only with other methods is a 405. */
export class Router {
  readonly routes: readonly Route[]

  constructor(configs: readonly RouteConfig[]) {
    this.routes = configs.map((config) => ({
      config,
      methods: new Set<string>(config.methods),
      ignoredQuery: new Set(config.query.ignore),
    }))
  }

  match(method: string, path: string): RouteMatch {
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
