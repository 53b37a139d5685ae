import type { Limit } from './limits.js'
import type { Lane } from './types.js'

/** Smallest integer q with q × divisor >= x (divisor a positive integer; exact for safe integers). */
function ceilDiv(x: number, divisor: number): number {
  let q = Math.ceil(x / divisor)
  while (q * divisor < x) q++
  while ((q - 1) * divisor >= x) q--
  return q
}

/**
 * A multi-rate GCRA bucket (the "virtual scheduling" form of a token bucket): one theoretical arrival
 * time (TAT) per rate; a call is allowed when every rate allows it. Token bucket semantics, so over any
 * window of length W at most `count × W / perMs + burst` calls pass per rate — no fixed-window edges.
 *
 * Time is quantized to whole ms (floored: a late clock only ever means fewer tokens) and kept relative
 * to `origin`; TATs are integers in units of 1/unitsPerMs ms, so no float drift can leak extra tokens.
 * A clock that steps back also only means fewer tokens: TATs never move backwards.
 */
export class Bucket {
  readonly limits: readonly Limit[]
  private readonly origin: number
  private readonly tat: number[]

  constructor(limits: readonly Limit[], origin: number, tat?: readonly number[]) {
    this.limits = limits
    this.origin = Math.floor(origin)
    // A TAT at the origin means a full bucket.
    this.tat = tat ? [...tat] : limits.map(() => 0)
  }

  clone(): Bucket {
    return new Bucket(this.limits, this.origin, this.tat)
  }

  /** Earliest whole ms >= now at which one token may be taken; background must leave the reserve. */
  earliest(now: number, lane: Lane): number {
    const at = Math.floor(now) - this.origin
    let earliest = at
    for (let i = 0; i < this.limits.length; i++) {
      const limit = this.limits[i]!
      const reserve = lane === 'background' ? limit.reserve : 0
      // Allowed at u (units) when tat − u <= (burst − 1 − reserve) × interval.
      const needUnits = this.tat[i]! - (limit.burst - 1 - reserve) * limit.interval
      const ms = ceilDiv(needUnits, limit.unitsPerMs)
      if (ms > earliest) earliest = ms
    }
    return earliest + this.origin
  }

  allows(now: number, lane: Lane): boolean {
    return this.earliest(now, lane) <= Math.floor(now)
  }

  /** Spend one token at `now`. The caller has checked `allows` (or `earliest`) first. */
  take(now: number): void {
    const at = Math.floor(now) - this.origin
    for (let i = 0; i < this.limits.length; i++) {
      const limit = this.limits[i]!
      this.tat[i] = Math.max(this.tat[i]!, at * limit.unitsPerMs) + limit.interval
    }
  }

  /** Tokens left per rate at `now`, 0..burst. */
  tokens(now: number): number[] {
    const at = Math.floor(now) - this.origin
    return this.limits.map((limit, i) => {
      const debt = Math.max(0, this.tat[i]! - at * limit.unitsPerMs)
      return Math.max(0, limit.burst - debt / limit.interval)
    })
  }
}
