/**
 * Counts events in a sliding window with bounded memory: a ring of `buckets` counters, each covering
 * `bucketMs`. The default (3600 × 1 s) answers "calls in the last minute / hour" at one-second
 * resolution in ~56 KB, however many calls there are.
 */
export class WindowCounter {
  readonly bucketMs: number
  private readonly stamps: Float64Array
  private readonly counts: Float64Array

  constructor(bucketMs = 1000, buckets = 3600) {
    if (!(bucketMs > 0) || !Number.isInteger(buckets) || buckets < 1) {
      throw new RangeError('WindowCounter: bucketMs must be > 0 and buckets an integer >= 1')
    }
    this.bucketMs = bucketMs
    this.stamps = new Float64Array(buckets).fill(Number.NaN)
    this.counts = new Float64Array(buckets)
  }

  private slot(index: number): number {
    const n = this.stamps.length
    return ((index % n) + n) % n
  }

  add(now: number, n = 1): void {
    const index = Math.floor(now / this.bucketMs)
    const slot = this.slot(index)
    if (this.stamps[slot] !== index) {
      this.stamps[slot] = index
      this.counts[slot] = 0
    }
    this.counts[slot] = (this.counts[slot] ?? 0) + n
  }

  /** Events in the buckets covering the last `windowMs` (the current bucket included). */
  sum(now: number, windowMs: number): number {
    const index = Math.floor(now / this.bucketMs)
    const span = Math.min(this.stamps.length, Math.max(1, Math.ceil(windowMs / this.bucketMs)))
    let total = 0
    for (let j = 0; j < span; j++) {
      const slot = this.slot(index - j)
      if (this.stamps[slot] === index - j) total += this.counts[slot]!
    }
    return total
  }

  clear(): void {
    this.stamps.fill(Number.NaN)
    this.counts.fill(0)
  }
}
