import type { Lane } from '../../upstream/budget/types.js'

/** One upstream fetch as the admin side saw it (from cache events, until the client reports calls). */
export interface RecentCall {
  at: number
  upstream: string
  route: string
  /** The cache key, secrets in its query masked. */
  key?: string
  lane: Lane
  status: string
  durationMs: number
}

/** A bounded ring of the newest calls; the oldest fall off. */
export class RecentCalls {
  readonly #ring: RecentCall[] = []
  readonly #capacity: number

  constructor(capacity = 100) {
    this.#capacity = capacity
  }

  add(call: RecentCall): void {
    this.#ring.push(call)
    if (this.#ring.length > this.#capacity) this.#ring.shift()
  }

  /** Newest first, at most `limit`, optionally for one upstream. */
  list(limit = this.#capacity, upstream?: string): RecentCall[] {
    const out: RecentCall[] = []
    for (let i = this.#ring.length - 1; i >= 0 && out.length < limit; i--) {
      const call = this.#ring[i]!
      if (upstream === undefined || call.upstream === upstream) out.push(call)
    }
    return out
  }
}
