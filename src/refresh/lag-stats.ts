import type { Priority } from '../config/types.js'
import { PRIORITIES, type PriorityStats } from './types.js'

const WINDOW = 512

/** A ring of recent dispatch lags, for p50/p99 without keeping history. */
class LagRing {
  readonly #values = new Float64Array(WINDOW)
  #count = 0

  add(lagMs: number): void {
    this.#values[this.#count % WINDOW] = lagMs
    this.#count++
  }

  summary(): PriorityStats['recentLag'] {
    const n = Math.min(this.#count, WINDOW)
    if (n === 0) return { count: 0, p50: 0, p99: 0, max: 0 }
    const sorted = Array.from(this.#values.subarray(0, n)).sort((a, b) => a - b)
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))]!
    return { count: n, p50: at(0.5), p99: at(0.99), max: sorted[n - 1]! }
  }
}

export interface Counters {
  refreshed: number
  failed: number
  changed: number
}

/** Per-priority counters and recent lag. */
export class LagStats {
  readonly #rings = new Map<Priority, LagRing>(PRIORITIES.map((p) => [p, new LagRing()]))
  readonly #counters = new Map<Priority, Counters>(
    PRIORITIES.map((p) => [p, { refreshed: 0, failed: 0, changed: 0 }]),
  )

  dispatched(priority: Priority, lagMs: number): void {
    this.#rings.get(priority)!.add(Math.max(0, lagMs))
  }

  count(priority: Priority, what: keyof Counters): void {
    this.#counters.get(priority)![what]++
  }

  recent(priority: Priority): PriorityStats['recentLag'] {
    return this.#rings.get(priority)!.summary()
  }

  counters(priority: Priority): Counters {
    return { ...this.#counters.get(priority)! }
  }
}
