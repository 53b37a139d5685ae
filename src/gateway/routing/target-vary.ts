/**
 * The upstream-Vary headers learned per request target on a route without a ttl (RFC 9111 §4.1):
 * where the upstream decides, each resource has its own Vary, and learning one for the whole route
 * would re-key every other resource's entries each time a new header shows up. Bounded: past
 * MAX_TARGETS the oldest target is forgotten, which costs it one unstored answer to learn again.
 */
export class TargetVary {
  static readonly MAX_TARGETS = 10_000
  readonly #names = new Map<string, readonly string[]>()

  get(target: string): readonly string[] | undefined {
    return this.#names.get(target)
  }

  /** `target` now varies on `names` too (sorted, no repeats). */
  learn(target: string, names: readonly string[]): void {
    const known = this.#names.get(target) ?? []
    if (names.every((name) => known.includes(name))) return
    this.#names.delete(target)
    if (this.#names.size >= TargetVary.MAX_TARGETS) {
      const oldest = this.#names.keys().next().value
      if (oldest !== undefined) this.#names.delete(oldest)
    }
    this.#names.set(target, [...new Set([...known, ...names])].sort())
  }

  get size(): number {
    return this.#names.size
  }
}
