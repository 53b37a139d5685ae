export { ageOf, isExpired, isFresh, isServableOnError, isServableStale, ttlLeft } from './freshness.js'
export { softPurge } from './soft-purge.js'
export { computeWindows, jitteredTtl, type WindowOptions } from './windows.js'
