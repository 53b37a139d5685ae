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
 * A read of the store under way. An invalidation that may cover its key while it is under way marks
 * it `overtaken`: what it read may be the value the invalidation removed, so the tier must not keep it.
 */
export interface StoreLoad {
  readonly key: string
  overtaken: boolean
}

/**
 * The in-process tier in front of the store, bounded by bytes (LRU). With a bound of 0 it holds
 * nothing and every lookup goes to the store.
 */
export class MemoryTier<T> {
  readonly #lru: ByteLru<MemoryRecord<T>> | undefined
  readonly #codec: Codec<T>
  /** Store reads under way that answer asynchronously (a shared store): few at a time. */
  readonly #loads = new Set<StoreLoad>()

  constructor(maxBytes: number, codec: Codec<T>) {
    this.#lru = maxBytes > 0 ? new ByteLru<MemoryRecord<T>>(maxBytes) : undefined
    this.#codec = codec
  }

  get(key: string): MemoryRecord<T> | undefined {
    return this.#lru?.get(key)
  }

  /**
   * Build the record for `entry` and keep it if the tier has room; returns the record either way.
   * With `load`, a record an invalidation overtook is handed out but not kept.
   */
  put(entry: Entry, value: T, load?: StoreLoad): MemoryRecord<T> {
    // With the tier off the record only carries this one answer: skip pricing it.
    if (!this.#lru || load?.overtaken) return { key: entry.key, tags: entry.tags, bytes: 0, entry, value }
    const decodedCost = this.#codec.decodedSize ? this.#codec.decodedSize(value, entry.size) : entry.size
    const record = { key: entry.key, tags: entry.tags, bytes: entryCost(entry) + decodedCost, entry, value }
    this.#lru.set(record)
    return record
  }

  delete(key: string): void {
    for (const load of this.#loads) if (load.key === key) load.overtaken = true
    this.#lru?.delete(key)
  }

  /** Start a store read of `key` whose answer may come after an invalidation (end it with endLoad). */
  beginLoad(key: string): StoreLoad {
    const load = { key, overtaken: false }
    if (this.#lru) this.#loads.add(load)
    return load
  }

  endLoad(load: StoreLoad): void {
    this.#loads.delete(load)
  }

  /** Apply an invalidation to what this tier holds; returns how many records it touched. */
  invalidate(selector: Selector, soft: boolean, now: number): number {
    const lru = this.#lru
    if (!lru) return 0
    // Reads under way may bring back what this removes. Their tags are unknown until they answer:
    // anything but a key selector overtakes them all.
    for (const load of this.#loads) {
      if (
        'key' in selector
          ? load.key === selector.key
          : 'keys' in selector
            ? selector.keys.includes(load.key)
            : true
      )
        load.overtaken = true
    }
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
    for (const load of this.#loads) load.overtaken = true
    this.#lru?.clear()
  }
}
