/** A sleep that a wake() cuts short: how an idle worker waits for new work or its next retry. */
export class Wakeup {
  #resolve: (() => void) | undefined

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, 2 ** 31 - 1)) : undefined
      const self = this
      function done() {
        clearTimeout(timer)
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
