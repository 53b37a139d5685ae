import type { Store } from '../../stores/store.js'
import type { RouteResolver } from './route-resolver.js'

export interface RouteCensus {
  /** Per route: entries and value bytes in the store. */
  routes: Record<string, { entries: number; bytes: number }>
  /** False when the scan stopped at its bound (very large stores): the numbers are a lower bound. */
  complete: boolean
  scanned: number
  at: number
}

const PAGE = 1000
const MAX_PAGES = 50
const MAX_AGE_MS = 10_000

/**
 * Entries and bytes per route. The store keeps totals, not per-route ones, so this walks its key
 * listing (metadata only, never values) up to a bound and groups keys by route; the result is kept
 * for a few seconds so a dashboard polling every 2 s does not rescan each time.
 */
export class Census {
  readonly #store: Pick<Store, 'list'>
  readonly #resolver: RouteResolver
  #last: RouteCensus | undefined
  #running: Promise<RouteCensus> | undefined

  constructor(store: Pick<Store, 'list'>, resolver: RouteResolver) {
    this.#store = store
    this.#resolver = resolver
  }

  get(now = Date.now()): Promise<RouteCensus> {
    if (this.#last && now - this.#last.at < MAX_AGE_MS) return Promise.resolve(this.#last)
    this.#running ??= this.#scan(now).finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  /** Forget the kept result (after a purge, so the next /stats shows it at once). */
  invalidate(): void {
    this.#last = undefined
  }

  async #scan(now: number): Promise<RouteCensus> {
    const routes: RouteCensus['routes'] = {}
    let cursor: string | undefined
    let scanned = 0
    let pages = 0
    do {
      const page = await this.#store.list({ limit: PAGE, ...(cursor !== undefined && { cursor }) })
      for (const item of page.items) {
        const { route } = this.#resolver.resolve(item.key)
        const slot = routes[route] ?? { entries: 0, bytes: 0 }
        slot.entries++
        slot.bytes += item.size
        routes[route] = slot
      }
      scanned += page.items.length
      cursor = page.cursor
      pages++
    } while (cursor !== undefined && pages < MAX_PAGES)
    this.#last = { routes, complete: cursor === undefined, scanned, at: now }
    return this.#last
  }
}
