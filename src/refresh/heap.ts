/** A binary min-heap over `before(a, b)`: O(log n) push and pop, O(1) peek. */
export class Heap<T> {
  readonly #items: T[] = []
  readonly #before: (a: T, b: T) => boolean

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before
  }

  get size(): number {
    return this.#items.length
  }

  peek(): T | undefined {
    return this.#items[0]
  }

  /** Every element, in no particular order (for snapshots). */
  values(): readonly T[] {
    return this.#items
  }

  push(item: T): void {
    const items = this.#items
    items.push(item)
    let at = items.length - 1
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (!this.#before(items[at]!, items[parent]!)) break
      ;[items[at], items[parent]] = [items[parent]!, items[at]!]
      at = parent
    }
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    items[0] = last
    let at = 0
    for (;;) {
      const left = at * 2 + 1
      const right = left + 1
      let best = at
      if (left < items.length && this.#before(items[left]!, items[best]!)) best = left
      if (right < items.length && this.#before(items[right]!, items[best]!)) best = right
      if (best === at) break
      ;[items[at], items[best]] = [items[best]!, items[at]!]
      at = best
    }
    return top
  }
}
