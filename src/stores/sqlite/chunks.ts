import { performance } from 'node:perf_hooks'

/**
 * Bulk work on the store (sweeps, evictions, purges, recency writes) runs as short synchronous
 * chunks, each one transaction, with a turn of the event loop between them, so requests keep being
 * answered while 30,000 entries go. A row's cost varies a thousandfold (a 1 MB value frees 250
 * overflow pages, a 100-byte one none), so a fixed row count cannot bound a chunk's time: the sizer
 * adapts the row limit to what the last chunks cost, aiming at `budgetMs` per chunk.
 */
export class ChunkSizer {
  readonly max: number
  readonly budgetMs: number
  #limit: number

  constructor(max: number, budgetMs = CHUNK_BUDGET_MS) {
    this.max = Math.max(1, Math.floor(max))
    this.budgetMs = budgetMs
    this.#limit = Math.min(this.max, 16)
  }

  /** Rows the next chunk may take. */
  get limit(): number {
    return this.#limit
  }

  /** Runs one chunk (`work` gets the row limit, returns the rows it did) and adapts the limit. */
  run<R extends { rows: number }>(work: (limit: number) => R): R {
    const limit = this.#limit
    const started = performance.now()
    const result = work(limit)
    this.#record(result.rows, performance.now() - started, limit)
    return result
  }

  #record(rows: number, ms: number, limit: number): void {
    if (rows === 0) return
    const perRow = Math.max(ms / rows, 0.0005)
    // Grow by at most a quarter per chunk, shrink at once: a row's cost drifts as bulk work goes on
    // (freeing pages gets dearer as the free list grows), and a fast chunk says little of the next.
    const fits = Math.floor(this.budgetMs / perRow)
    this.#limit = Math.max(1, Math.min(this.max, fits, Math.ceil(limit * 1.25)))
  }
}

/** What one chunk may hold the event loop for, ms: well under the 10 ms a request may wait on housekeeping. */
export const CHUNK_BUDGET_MS = 3

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
