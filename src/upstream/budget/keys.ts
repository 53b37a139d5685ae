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
}

/**
 * A what-if copy of the keys' buckets for computing when each waiter could be served, in priority
 * order, assuming no new arrivals. Concurrency is left out (it frees on release, not on a clock), so
 * estimates are optimistic there and exact for rates and pauses.
 */
export class Plan {
  private readonly slots: readonly KeySlot[]
  private readonly buckets: Bucket[]
  private readonly lastGrant: number[]
  private seq = grantSeq

  constructor(slots: readonly KeySlot[]) {
    this.slots = slots
    const clones = new Map<Bucket, Bucket>()
    this.buckets = slots.map((slot) => {
      let clone = clones.get(slot.bucket)
      if (!clone) {
        clone = slot.bucket.clone()
        clones.set(slot.bucket, clone)
      }
      return clone
    })
    this.lastGrant = slots.map((slot) => slot.lastGrantSeq)
  }

  /** When (and on which key) the next waiter of `lane` could be served, at the earliest. */
  next(now: number, lane: Lane): Estimate {
    let best: Estimate | undefined
    for (let i = 0; i < this.slots.length; i++) {
      const pausedUntil = this.slots[i]!.pausedUntil
      const rateAt = this.buckets[i]!.earliest(now, lane)
      const at = Math.max(now, pausedUntil, rateAt)
      const reason: BudgetExceededReason = pausedUntil > now && pausedUntil >= rateAt ? 'paused' : 'rate'
      if (!best || at < best.at || (at === best.at && this.lastGrant[i]! < this.lastGrant[best.keyIndex]!)) {
        best = { at, keyIndex: i, reason }
      }
    }
    return best!
  }

  /** Books the estimate so waiters behind it see the token as spent. */
  take(estimate: Estimate): void {
    this.buckets[estimate.keyIndex]!.take(estimate.at)
    this.lastGrant[estimate.keyIndex] = ++this.seq
  }
}
