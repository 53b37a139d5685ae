import type { Closable } from '../util/lifecycle.js'

/**
 * The parts made so far, in the order startCistern made and started them. Closing goes the other
 * way, so each part closes while what it depends on is still open; every part is closed even when
 * one of them fails to, and the first failure is thrown afterwards.
 */
export class Parts {
  readonly #made: Closable[] = []

  /** Close `part` with the others; returns it, so a part is made and registered in one line. */
  add<T extends Closable>(part: T): T {
    this.#made.push(part)
    return part
  }

  async close(graceMs: number): Promise<void> {
    const failures: unknown[] = []
    for (const part of this.#made.splice(0).reverse()) {
      try {
        await part.close(graceMs)
      } catch (error) {
        failures.push(error)
      }
    }
    if (failures.length > 0) throw failures[0]
  }
}
