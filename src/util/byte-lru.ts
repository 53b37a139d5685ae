import { LRUCache } from 'lru-cache'
import { KeyIndex } from './key-index.js'

/** What the LRU needs to know of a record: its key, its tags (indexed) and what it costs in bytes. */
export interface Sized {
  readonly key: string
  readonly tags: readonly string[]
  readonly bytes: number
}

/**
 * A least-recently-used map bounded by bytes, with tag and prefix indexes kept in step on every
 * insert, replace, delete and eviction. Both the engine's memory tier and the memory store sit on it.
 */
export class ByteLru<R extends Sized> {
  readonly maxBytes: number
  readonly #lru: LRUCache<string, R>
  readonly #index = new KeyIndex()

  /** `onRemove` hears of every record that leaves: replaced, deleted or evicted. */
  constructor(maxBytes: number, onRemove?: (record: R) => void) {
    this.maxBytes = maxBytes
    this.#lru = new LRUCache<string, R>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (record) => Math.max(1, record.bytes),
      dispose: (record, key) => {
        this.#index.remove(key, record.tags)
        onRemove?.(record)
      },
    })
  }

  /** The record, marked most recently used. */
  get(key: string): R | undefined {
    return this.#lru.get(key)
  }

  /** The record, without touching its recency. */
  peek(key: string): R | undefined {
    return this.#lru.peek(key)
  }

  /** Insert or replace. A record larger than the whole bound is not kept (and any old copy goes). */
  set(record: R): boolean {
    if (record.bytes > this.maxBytes) {
      this.#lru.delete(record.key)
      return false
    }
    this.#lru.set(record.key, record)
    // lru-cache may evict the record it was just given when it cannot fit; index only what stayed.
    if (this.#lru.peek(record.key) !== record) return false
    this.#index.add(record.key, record.tags)
    return true
  }

  delete(key: string): boolean {
    return this.#lru.delete(key)
  }

  keysWithTag(tag: string): string[] {
    return this.#index.keysWithTag(tag)
  }

  keysWithPrefix(prefix: string, limit?: number, after?: string): string[] {
    return this.#index.keysWithPrefix(prefix, limit, after)
  }

  get size(): number {
    return this.#lru.size
  }

  get bytes(): number {
    return this.#lru.calculatedSize
  }

  clear(): void {
    this.#lru.clear()
    this.#index.clear()
  }
}
