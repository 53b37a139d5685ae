import { entryCost } from '../model/cost.js'
import type { Entry } from '../model/entry.js'
import { softPurge } from '../model/soft-purge.js'
import type { Selector } from '../stores/store.js'
import { ByteLru } from '../util/byte-lru.js'
import type { Codec } from './codec.js'

/** A memory-tier record: the entry as stored plus its decoded value, so a hit never decodes. */
export interface MemoryRecord<T> {
  readonly key: string
  readonly tags: readonly string[]
  readonly bytes: number
  readonly entry: Entry
  readonly value: T
}

/**
 * The in-process tier in front of the store, bounded by bytes (LRU). With a bound of 0 it holds
 * nothing and every lookup goes to the store.
 */
export class MemoryTier<T> {
  readonly #lru: ByteLru<MemoryRecord<T>> | undefined
  readonly #codec: Codec<T>

  constructor(maxBytes: number, codec: Codec<T>) {
    this.#lru = maxBytes > 0 ? new ByteLru<MemoryRecord<T>>(maxBytes) : undefined
    this.#codec = codec
  }

  get(key: string): MemoryRecord<T> | undefined {
    return this.#lru?.get(key)
  }

  /** Build the record for `entry` and keep it if the tier has room; returns the record either way. */
  put(entry: Entry, value: T): MemoryRecord<T> {
    // With the tier off the record only carries this one answer: skip pricing it.
    if (!this.#lru) return { key: entry.key, tags: entry.tags, bytes: 0, entry, value }
    const decodedCost = this.#codec.decodedSize ? this.#codec.decodedSize(value, entry.size) : entry.size
    const record = { key: entry.key, tags: entry.tags, bytes: entryCost(entry) + decodedCost, entry, value }
    this.#lru.set(record)
    return record
  }

  delete(key: string): void {
    this.#lru?.delete(key)
  }

  /** Apply an invalidation to what this tier holds; returns how many records it touched. */
  invalidate(selector: Selector, soft: boolean, now: number): number {
    const lru = this.#lru
    if (!lru) return 0
    const keys =
      'key' in selector
        ? [selector.key]
        : 'keys' in selector
          ? new Set(selector.keys)
          : 'tag' in selector
            ? lru.keysWithTag(selector.tag)
            : 'tags' in selector
              ? new Set(selector.tags.flatMap((tag) => lru.keysWithTag(tag)))
              : lru.keysWithPrefix(selector.prefix)
    let touched = 0
    for (const key of keys) {
      const record = lru.peek(key)
      if (!record) continue
      touched++
      if (!soft) lru.delete(key)
      else lru.set({ ...record, entry: softPurge(record.entry, now) })
    }
    return touched
  }

  get size(): number {
    return this.#lru?.size ?? 0
  }

  get bytes(): number {
    return this.#lru?.bytes ?? 0
  }

  get maxBytes(): number {
    return this.#lru?.maxBytes ?? 0
  }

  clear(): void {
    this.#lru?.clear()
  }
}
