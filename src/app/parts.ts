/**
 * The lifecycle the parts of a running cistern share (the gateway, the refresh path, webhooks, the
 * admin listener): created with everything they need, then started, then closed. `close` must be
 * safe before `start` (a later part failed to start) and more than once.
 */
export interface Part extends Closable {
  start(): Promise<void>
}

/** Something opened at creation that only needs closing (the admin side's monitor). */
export interface Closable {
  /** Release what it holds, waiting up to `graceMs` for work under way. */
  close(graceMs: number): Promise<void>
}

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
