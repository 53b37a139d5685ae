import type { Timers } from '../../util/timers.js'

/** A sleep that a wake() cuts short: how an idle worker waits for new work or its next retry. */
export class Wakeup {
  readonly #timers: Timers
  #resolve: (() => void) | undefined

  /** `timers` measure the sleep, on the clock the worker reads its due times from. */
  constructor(timers: Timers) {
    this.#timers = timers
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timers = this.#timers
      const timer = Number.isFinite(ms) ? timers.set(done, ms) : undefined
      const self = this
      function done() {
        if (timer !== undefined) timers.clear(timer)
        if (self.#resolve === done) self.#resolve = undefined
        resolve()
      }
      this.#resolve = done
    })
  }

  wake(): void {
    this.#resolve?.()
  }
}
