import { CisternError } from '../../util/errors.js'
import { Bucket } from './gcra.js'
import { KeySlot, type Pool } from './keys.js'
import type { Limit } from './limits.js'
import type { KeySnapshot } from './types.js'

export interface SlotsOptions {
  limits: Limit[]
  per: 'upstream' | 'key'
  keys: number
  concurrency: number
  origin: number
  where: string
}

/** One slot per credential; with `per: 'upstream'` they all share one bucket and one pool. */
export function buildSlots(options: SlotsOptions): KeySlot[] {
  const { limits, per, keys, concurrency, origin, where } = options
  if (!Number.isSafeInteger(keys) || keys < 1) {
    throw new CisternError('E_CONFIG', `${where}: keys must be an integer >= 1, got ${keys}`)
  }
  if (!(concurrency >= 1) || (Number.isFinite(concurrency) && !Number.isInteger(concurrency))) {
    throw new CisternError('E_CONFIG', `${where}: concurrency must be an integer >= 1, got ${concurrency}`)
  }
  const sharedBucket = new Bucket(limits, origin)
  const sharedPool: Pool = { limit: concurrency, inFlight: 0 }
  return Array.from({ length: keys }, (_, index) =>
    per === 'upstream'
      ? new KeySlot(index, sharedBucket, sharedPool)
      : new KeySlot(index, new Bucket(limits, origin), { limit: concurrency, inFlight: 0 }),
  )
}

export function snapshotSlot(slot: KeySlot, now: number): KeySnapshot {
  const tokens = slot.bucket.tokens(now)
  return {
    index: slot.index,
    tokens: slot.bucket.limits.map((limit, i) => ({
      rate: limit.label,
      burst: limit.burst,
      tokens: Math.round(tokens[i]! * 1000) / 1000,
      reserve: limit.reserve,
    })),
    ...(slot.pausedUntil > now ? { pausedUntil: slot.pausedUntil, pauseReason: slot.pauseReason } : {}),
    inFlight: slot.pool.inFlight,
    calls: { lastMinute: slot.calls.sum(now, 60_000), lastHour: slot.calls.sum(now, 3_600_000) },
    ...(Number.isFinite(slot.lastGrantAt) ? { lastGrantAt: slot.lastGrantAt } : {}),
  }
}
