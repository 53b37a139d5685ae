import { WindowCounter } from './counter.js'
import type { BudgetExceededReason } from './errors.js'
import type { Bucket } from './gcra.js'
import type { Lane, Permit } from './types.js'

/** How a key is chosen when several could serve a call now. */
export type KeyStrategy = 'lru' | 'most-tokens'

/** A concurrency cap; shared by every key when the budget is per upstream. */
export interface Pool {
  readonly limit: number
  inFlight: number
}

/** One credential of the pool: its bucket and concurrency pool (possibly shared), pause and counters. */
export class KeySlot {
  readonly index: number
  readonly bucket: Bucket
  readonly pool: Pool
  pausedUntil = Number.NEGATIVE_INFINITY
  pauseReason: string | undefined
  lastGrantAt = Number.NEGATIVE_INFINITY
  /** Grant order across the pool (a counter, not a time, so LRU rotates within one ms too). */
  lastGrantSeq = 0
  readonly calls = new WindowCounter()

  constructor(index: number, bucket: Bucket, pool: Pool) {
    this.index = index
    this.bucket = bucket
    this.pool = pool
  }

  availableNow(now: number, lane: Lane): boolean {
    return now >= this.pausedUntil && this.pool.inFlight < this.pool.limit && this.bucket.allows(now, lane)
  }
}

let grantSeq = 0

/** Spends a token and a concurrency slot on `slot`; `onRelease` runs once when the permit is released. */
export function grantOn(slot: KeySlot, lane: Lane, now: number, onRelease: () => void): Permit {
  slot.bucket.take(now)
  slot.pool.inFlight++
  slot.lastGrantAt = now
  slot.lastGrantSeq = ++grantSeq
  slot.calls.add(now)
  let released = false
  return {
    keyIndex: slot.index,
    lane,
    grantedAt: now,
    release() {
      if (released) return
      released = true
      slot.pool.inFlight--
      onRelease()
    },
  }
}

function fewestTokens(slot: KeySlot, now: number): number {
  return Math.min(...slot.bucket.tokens(now))
}

/** The key to grant on now, or undefined. Least recently used first, or most tokens left first. */
export function pickKey(
  slots: readonly KeySlot[],
  now: number,
  lane: Lane,
  strategy: KeyStrategy,
): KeySlot | undefined {
  let best: KeySlot | undefined
  let bestTokens = Number.NEGATIVE_INFINITY
  for (const slot of slots) {
    if (!slot.availableNow(now, lane)) continue
    if (strategy === 'most-tokens') {
      const tokens = fewestTokens(slot, now)
      if (!best || tokens > bestTokens || (tokens === bestTokens && slot.lastGrantSeq < best.lastGrantSeq)) {
        best = slot
        bestTokens = tokens
      }
    } else if (!best || slot.lastGrantSeq < best.lastGrantSeq) {
      best = slot
    }
  }
  return best
}

export interface Estimate {
  at: number
  keyIndex: number
  reason: BudgetExceededReason
  /** Every key's concurrency is (planned to be) taken: `at` ignores that, it is the best case. */
  blocked: boolean
}

/**
 * A what-if copy of the keys' buckets and free concurrency slots, for computing when each waiter could
 * be served, in priority order, assuming no new arrivals. A planned grant holds its concurrency slot
 * (its release time is unknown); keys without a free slot are avoided while another key has one.
 */
export class Plan {
  private readonly slots: readonly KeySlot[]
  private readonly buckets: Bucket[]
  private readonly free: Map<Pool, number>
  private readonly lastGrant: number[]
  private seq: number

  constructor(slots: readonly KeySlot[], from?: Plan) {
    this.slots = slots
    const clones = new Map<Bucket, Bucket>()
    const source = from ? from.buckets : slots.map((slot) => slot.bucket)
    this.buckets = source.map((bucket) => {
      let clone = clones.get(bucket)
      if (!clone) {
        clone = bucket.clone()
        clones.set(bucket, clone)
      }
      return clone
    })
    this.free = from
      ? new Map(from.free)
      : new Map(slots.map((s) => [s.pool, s.pool.limit - s.pool.inFlight]))
    this.lastGrant = from ? [...from.lastGrant] : slots.map((slot) => slot.lastGrantSeq)
    this.seq = from ? from.seq : grantSeq
  }

  /** An independent copy, to plan the background lane on top of the foreground one. */
  clone(): Plan {
    return new Plan(this.slots, this)
  }

  /** When (and on which key) the next waiter of `lane` could be served, at the earliest. */
  next(now: number, lane: Lane): Estimate {
    let best: Estimate | undefined
    for (let i = 0; i < this.slots.length; i++) {
      const pausedUntil = this.slots[i]!.pausedUntil
      const rateAt = this.buckets[i]!.earliest(now, lane)
      const at = Math.max(now, pausedUntil, rateAt)
      const reason: BudgetExceededReason = pausedUntil > now && pausedUntil >= rateAt ? 'paused' : 'rate'
      const blocked = (this.free.get(this.slots[i]!.pool) ?? 0) <= 0
      const better =
        !best ||
        (best.blocked && !blocked) ||
        (best.blocked === blocked &&
          (at < best.at || (at === best.at && this.lastGrant[i]! < this.lastGrant[best.keyIndex]!)))
      if (better) best = { at, keyIndex: i, reason, blocked }
    }
    return best!
  }

  /** Books the estimate so waiters behind it see the token and the concurrency slot as spent. */
  take(estimate: Estimate): void {
    const slot = this.slots[estimate.keyIndex]!
    this.buckets[estimate.keyIndex]!.take(estimate.at)
    this.free.set(slot.pool, (this.free.get(slot.pool) ?? 0) - 1)
    this.lastGrant[estimate.keyIndex] = ++this.seq
  }
}
