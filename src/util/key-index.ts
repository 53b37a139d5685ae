import btree from 'sorted-btree'

// sorted-btree ships CommonJS with the class on `exports.default`; Node hands ESM the exports object,
// while bundlers and vitest unwrap `default` themselves. Accept both.
type BTreeClass = typeof btree.default
const BTree = ((btree as unknown as { default?: BTreeClass }).default ?? btree) as BTreeClass

/**
 * Secondary indexes for an in-memory key space: tag → keys, and keys in sorted order so a prefix is
 * an index range (a B+ tree walk), never a scan over every key.
 */
export class KeyIndex {
  readonly #byTag = new Map<string, Set<string>>()
  readonly #sorted = new BTree<string, true>()

  add(key: string, tags: readonly string[]): void {
    this.#sorted.set(key, true)
    for (const tag of tags) {
      let keys = this.#byTag.get(tag)
      if (!keys) {
        keys = new Set()
        this.#byTag.set(tag, keys)
      }
      keys.add(key)
    }
  }

  remove(key: string, tags: readonly string[]): void {
    this.#sorted.delete(key)
    for (const tag of tags) {
      const keys = this.#byTag.get(tag)
      if (!keys) continue
      keys.delete(key)
      if (keys.size === 0) this.#byTag.delete(tag)
    }
  }

  keysWithTag(tag: string): string[] {
    const keys = this.#byTag.get(tag)
    return keys ? [...keys] : []
  }

  /** Keys starting with `prefix`, in order, from `after` (exclusive) on, at most `limit` of them. */
  keysWithPrefix(prefix: string, limit = Number.POSITIVE_INFINITY, after?: string): string[] {
    const low = after !== undefined && after >= prefix ? after : prefix
    const high = prefixUpperBound(prefix)
    const out: string[] = []
    this.#sorted.forRange(low, high ?? '\uffff\uffff\uffff\uffff', high === undefined, (key) => {
      if (key === after) return
      if (out.length >= limit) return { break: true }
      if (key.startsWith(prefix)) out.push(key)
    })
    return out
  }

  clear(): void {
    this.#byTag.clear()
    this.#sorted.clear()
  }
}

/** The smallest key strictly greater than every key starting with `prefix` (for index range scans). */
export function prefixUpperBound(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i)
    if (code < 0xffff) return prefix.slice(0, i) + String.fromCharCode(code + 1)
  }
  return undefined
}
