/**
 * The lifecycle the parts of a running cistern share (the gateway, the refresh path, webhooks, the
 * admin listener): created with everything they need, then started, then closed. `close` must be
 * safe before `start` (a later part failed to start) and more than once. startCistern
 * (src/app/cistern.ts) starts them in order and closes them in reverse.
 */
export interface Part extends Closable {
  start(): Promise<void>
}

/** Something opened at creation that only needs closing (the admin side's monitor, an event log). */
export interface Closable {
  /** Release what it holds, waiting up to `graceMs` for work under way. */
  close(graceMs: number): Promise<void>
}
