/**
 * At most one log line per topic per interval: an upstream or store outage must not turn into one
 * warning per request. Lines that were held back are counted and reported with the next one.
 */
export class Throttle {
  readonly #intervalMs: number
  readonly #last = new Map<string, number>()
  readonly #held = new Map<string, number>()

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs
  }

  allow(topic: string, now = Date.now()): boolean {
    const last = this.#last.get(topic)
    if (last !== undefined && now - last < this.#intervalMs) {
      this.#held.set(topic, (this.#held.get(topic) ?? 0) + 1)
      return false
    }
    if (this.#last.size > 1_000) this.#last.clear()
    this.#last.set(topic, now)
    return true
  }

  /** How many lines were held back since the last allowed one (and reset the count). */
  suppressed(topic: string): number {
    const count = this.#held.get(topic) ?? 0
    this.#held.delete(topic)
    return count
  }
}
