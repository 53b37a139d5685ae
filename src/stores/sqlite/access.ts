/**
 * Read recency for least-recently-used eviction. A hit must stay a single indexed read, so it only
 * notes the key and time here (a Map.set, ~0.1 µs); the store writes the notes to `entry_access` in
 * batches: every few seconds, before choosing what to evict, and at close. Writes are stamped by a
 * trigger in the same transaction as the entry. Recency is thus at most one flush interval stale,
 * which is all LRU over minutes-to-days lifetimes needs.
 *
 * The notes are bounded: past `maxPending` distinct keys between two flushes, further new keys are
 * not noted (keys already noted still move). A key missed that way keeps its last written recency.
 */
export class AccessNotes {
  readonly #pending = new Map<string, number>()
  readonly #maxPending: number

  constructor(maxPending = 10_000) {
    this.#maxPending = maxPending
  }

  note(key: string, at: number): void {
    if (this.#pending.size >= this.#maxPending && !this.#pending.has(key)) return
    this.#pending.set(key, at)
  }

  get size(): number {
    return this.#pending.size
  }

  /** Takes up to `limit` notes out, oldest noted first. */
  take(limit: number): [key: string, at: number][] {
    const out: [string, number][] = []
    for (const note of this.#pending) {
      if (out.length >= limit) break
      out.push(note)
    }
    for (const [key] of out) this.#pending.delete(key)
    return out
  }

  clear(): void {
    this.#pending.clear()
  }
}
