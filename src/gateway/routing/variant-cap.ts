import type { Store } from '../../stores/store.js'

/** What counting needs of a store: its indexed listing (the cache's guarded one in the gateway). */
export type Listing = Pick<Store, 'list'>

/** How long a path's count is trusted before the store is asked again. */
const RECOUNT_MS = 10_000
/** Paths whose count is remembered per route before the memo starts over. */
const MAX_PATHS = 10_000

/**
 * A route's `maxVariants`: how many entries one path may hold, all its query strings, vary values
 * and clients together, so junk query strings or header values cannot fill the store. The count
 * comes from the store (its key prefixes are indexed) at most once per path every 10 s; in between,
 * the process counts the new keys it admits itself. Counting high (an admitted answer that was not
 * stored after all) only refuses early until the next recount, so the bound holds; several instances
 * sharing a store each admit up to the bound between recounts.
 */
export class VariantCap {
  readonly max: number
  readonly #known = new Map<string, { count: number; until: number }>()

  constructor(max: number) {
    this.max = max
  }

  /** Whether one more key of `path` may be stored. */
  async admit(store: Listing, path: string, now: number): Promise<boolean> {
    const known = this.#known.get(path)
    if (known !== undefined && now < known.until) {
      if (known.count >= this.max) return false
      known.count++
      return true
    }
    const count = await countVariants(store, path, this.max)
    const admitted = count < this.max
    if (this.#known.size >= MAX_PATHS) this.#known.clear()
    this.#known.set(path, { count: admitted ? count + 1 : count, until: now + RECOUNT_MS })
    return admitted
  }
}

/**
 * How many entries the store holds for one path, counted up to `limit`: the bare path is one entry,
 * its query (`path?`) and variant (`path#`) prefixes hold the many, and both are indexed, so this reads
 * at most `limit` rows of metadata.
 */
export async function countVariants(store: Listing, path: string, limit: number): Promise<number> {
  let count = 0
  for (const prefix of [`${path}?`, `${path}#`]) {
    let cursor: string | undefined
    do {
      const page = await store.list({
        prefix,
        limit: Math.min(1000, limit - count),
        ...(cursor && { cursor }),
      })
      count += page.items.length
      cursor = page.cursor
    } while (cursor && count < limit)
    if (count >= limit) break
  }
  return count
}
