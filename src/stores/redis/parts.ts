import type { RedisParts } from './coordination.js'

/**
 * The Redis coordination parts this build has, one factory per file under src/stores/redis/
 * (bus.ts, leases.ts, ceiling.ts, refresh-claims.ts, change-log.ts, once.ts). Instances share Redis as
 * one cistern only with all six: until then kind redis shares the entries alone, and every part keeps
 * its in-process behaviour (as a single instance does).
 */
export const REDIS_PARTS: Partial<RedisParts> = {}

/** All six, or the names of those missing. */
export function completeParts(parts: Partial<RedisParts>): RedisParts | string[] {
  const names = [
    'createBus',
    'createLeases',
    'createCeiling',
    'createRefreshClaims',
    'createChangeLog',
    'createOnce',
  ] as const
  const missing = names.filter((name) => parts[name] === undefined)
  return missing.length === 0 ? (parts as RedisParts) : missing
}
