import { entryCost } from '../../model/cost.js'
import { type Entry, type EntryInfo, entryInfo } from '../../model/entry.js'
import { isExpired } from '../../model/freshness.js'
import { softPurge } from '../../model/soft-purge.js'
import { ByteLru } from '../../util/byte-lru.js'
import { CisternError } from '../../util/errors.js'
import { parseSize, type Size } from '../../util/units.js'
import type { InvalidateOptions, ListPage, ListQuery, Selector, Store, StoreStats } from '../store.js'

export interface MemoryStoreOptions {
  /** Upper bound on what the store holds, counted as value bytes plus per-entry bookkeeping. */
  maxSize?: Size
}

interface Stored {
  key: string
  tags: readonly string[]
  bytes: number
  entry: Entry
}

/** A store that lives and dies with the process: for tests, scripts and single-process apps. */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  return new MemoryStore(parseSize(options.maxSize ?? '64MB', 'memoryStore maxSize'))
}

class MemoryStore implements Store {
  readonly name = 'memory'
  readonly #lru: ByteLru<Stored>
  #valueBytes = 0
  #closed = false

  constructor(maxBytes: number) {
    this.#lru = new ByteLru<Stored>(maxBytes, (gone) => {
      this.#valueBytes -= gone.entry.size
    })
  }

  async get(key: string, now = Date.now()): Promise<Entry | undefined> {
    return this.getSync(key, now)
  }

  getSync(key: string, now = Date.now()): Entry | undefined {
    this.#open()
    const stored = this.#lru.get(key)
    if (!stored) return undefined
    if (isExpired(stored.entry, now)) {
      this.#lru.delete(key)
      return undefined
    }
    return stored.entry
  }

  async set(entry: Entry): Promise<void> {
    this.#open()
    // Copy the bytes: a caller's Buffer may be a view into a shared pool or be reused after set().
    const value = new Uint8Array(entry.value)
    const stored = { ...entry, value, tags: [...entry.tags] }
    this.#put(stored)
  }

  async delete(key: string): Promise<boolean> {
    this.#open()
    return this.#lru.delete(key)
  }

  async invalidate(selector: Selector, options: InvalidateOptions): Promise<number> {
    this.#open()
    let count = 0
    for (const key of this.#select(selector)) {
      const stored = this.#lru.peek(key)
      if (!stored) continue
      // An expired entry is already gone as far as readers know: drop it, do not count or revive it.
      if (isExpired(stored.entry, options.now)) {
        this.#lru.delete(key)
        continue
      }
      count++
      if (!options.soft) this.#lru.delete(key)
      else {
        const entry = softPurge(stored.entry, options.now)
        if (entry !== stored.entry) this.#put(entry)
      }
    }
    return count
  }

  async list(query: ListQuery): Promise<ListPage> {
    this.#open()
    const limit = Math.max(1, Math.min(query.limit, 1000))
    const now = Date.now()
    const prefix = query.prefix ?? ''
    const items: EntryInfo[] = []
    let after = query.cursor
    // Pages skip expired entries, so read key batches until the page is full or the keys run out.
    for (;;) {
      const keys =
        query.tag !== undefined
          ? this.#lru
              .keysWithTag(query.tag)
              .filter((key) => key.startsWith(prefix) && (after === undefined || key > after))
              .sort()
              .slice(0, limit + 1)
          : this.#lru.keysWithPrefix(prefix, limit + 1, after)
      for (const key of keys) {
        const stored = this.#lru.peek(key)
        if (!stored || isExpired(stored.entry, now)) continue
        if (items.length === limit) return { items, cursor: items[items.length - 1]!.key }
        items.push(entryInfo(stored.entry))
      }
      if (keys.length <= limit) return { items }
      after = keys[keys.length - 1]
    }
  }

  async stats(): Promise<StoreStats> {
    this.#open()
    return { entries: this.#lru.size, bytes: this.#valueBytes }
  }

  async sweep(now: number, limit: number): Promise<number> {
    this.#open()
    let dropped = 0
    for (const key of this.#lru.keysWithPrefix('')) {
      if (dropped >= limit) break
      const stored = this.#lru.peek(key)
      if (stored && isExpired(stored.entry, now)) {
        this.#lru.delete(key)
        dropped++
      }
    }
    return dropped
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#lru.clear()
  }

  #put(entry: Entry): void {
    if (this.#lru.set({ key: entry.key, tags: entry.tags, bytes: entryCost(entry), entry })) {
      this.#valueBytes += entry.size
    }
  }

  #select(selector: Selector): Iterable<string> {
    if ('key' in selector) return [selector.key]
    // A key listed twice, or holding two of the tags, is one entry and counts once.
    if ('keys' in selector) return new Set(selector.keys)
    if ('tag' in selector) return this.#lru.keysWithTag(selector.tag)
    if ('tags' in selector) return new Set(selector.tags.flatMap((tag) => this.#lru.keysWithTag(tag)))
    return this.#lru.keysWithPrefix(selector.prefix)
  }

  #open(): void {
    if (this.#closed) throw new CisternError('E_CLOSED', 'memory store: used after close()')
  }
}
