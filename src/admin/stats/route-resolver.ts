import { pathOfKey } from '../../gateway/routing/cache-key.js'
import type { Router } from '../../gateway/routing/router.js'

export interface KeyRoute {
  route: string
  upstream: string
}

const UNKNOWN: KeyRoute = { route: 'unknown', upstream: 'unknown' }
const MAX_REMEMBERED = 10_000

/**
 * Which route (and upstream) a cache key belongs to. Keys read like their request (`path?query`,
 * then `#variant` parts), so the path goes back through the gateway's router. Answers are remembered
 * (bounded), since the same keys come back on every fetch.
 */
export class RouteResolver {
  readonly #router: Router
  readonly #known = new Map<string, KeyRoute>()

  constructor(router: Router) {
    this.#router = router
  }

  resolve(key: string): KeyRoute {
    const path = pathOfKey(key)
    let found = this.#known.get(path)
    if (found === undefined) {
      const match = this.#router.match('GET', path)
      found =
        match.kind === 'route'
          ? { route: match.route.config.name, upstream: match.route.config.upstream }
          : UNKNOWN
      if (this.#known.size >= MAX_REMEMBERED) this.#known.clear()
      this.#known.set(path, found)
    }
    return found
  }

  /** The upstream of a route, by route name. */
  upstreamOf(route: string): string {
    for (const candidate of this.#router.routes) {
      if (candidate.config.name === route) return candidate.config.upstream
    }
    return 'unknown'
  }
}
