/** The sim's runtime settings: defaults from SimOptions, changed by sim.set() and POST /_sim/set. */
import type { SimAuth, SimMode, SimOptions, SimRateLimit, SimSettings } from './types.js'
import { SIM_MODES } from './types.js'

export interface Runtime {
  mode: SimMode
  latencyMs: number
  jitterMs: number
  slowMs: number
  retryAfterSec: number
  /** 0 = timer off. */
  changeEveryMs: number
  cacheControl: string | ((path: string) => string | undefined) | undefined
  surrogateKeys: boolean | string
  etag: boolean
  lastModified: boolean
  compress: boolean
  extraHeaders: Record<string, string>
  rateLimit: SimRateLimit | undefined
  auth: SimAuth | undefined
  localDates: boolean
}

export function runtimeFrom(o: SimOptions): Runtime {
  return {
    mode: o.mode ?? 'up',
    latencyMs: o.latencyMs ?? 0,
    jitterMs: o.jitterMs ?? 0,
    slowMs: o.slowMs ?? 2000,
    retryAfterSec: o.retryAfterSec ?? 5,
    changeEveryMs: o.changeEveryMs === false ? 0 : (o.changeEveryMs ?? 5000),
    cacheControl: o.cacheControl,
    surrogateKeys: o.surrogateKeys ?? false,
    etag: o.etag ?? true,
    lastModified: o.lastModified ?? true,
    compress: o.compress ?? false,
    extraHeaders: o.extraHeaders ?? {},
    rateLimit: o.rateLimit,
    auth: o.auth,
    localDates: o.localDates ?? false,
  }
}

const nonNegative = (name: string, v: number | undefined): void => {
  if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new RangeError(`${name} must be a number >= 0`)
}

export function validateSettings(s: SimSettings): void {
  if (s.mode !== undefined && !SIM_MODES.includes(s.mode)) {
    throw new RangeError(`mode must be one of ${SIM_MODES.join(', ')}`)
  }
  nonNegative('latencyMs', s.latencyMs)
  nonNegative('jitterMs', s.jitterMs)
  nonNegative('slowMs', s.slowMs)
  nonNegative('retryAfterSec', s.retryAfterSec)
  nonNegative('revertAfterMs', s.revertAfterMs)
  if (s.changeEveryMs !== false) nonNegative('changeEveryMs', s.changeEveryMs)
  if (s.rateLimit && !(s.rateLimit.perSecond >= 0)) throw new RangeError('rateLimit.perSecond must be >= 0')
}

/** Copy the given settings onto the runtime (mode and timers are handled by the sim itself). */
export function applySettings(rt: Runtime, s: SimSettings): void {
  if (s.latencyMs !== undefined) rt.latencyMs = s.latencyMs
  if (s.jitterMs !== undefined) rt.jitterMs = s.jitterMs
  if (s.slowMs !== undefined) rt.slowMs = s.slowMs
  if (s.retryAfterSec !== undefined) rt.retryAfterSec = s.retryAfterSec
  if ('cacheControl' in s) rt.cacheControl = s.cacheControl
  if (s.surrogateKeys !== undefined) rt.surrogateKeys = s.surrogateKeys
  if (s.etag !== undefined) rt.etag = s.etag
  if (s.lastModified !== undefined) rt.lastModified = s.lastModified
  if (s.compress !== undefined) rt.compress = s.compress
  if (s.extraHeaders !== undefined) rt.extraHeaders = s.extraHeaders
  if ('rateLimit' in s) rt.rateLimit = s.rateLimit
  if ('auth' in s) rt.auth = s.auth
}

/** A JSON-safe view of the runtime (functions and secrets left out). */
export function describeRuntime(rt: Runtime) {
  return {
    mode: rt.mode,
    latencyMs: rt.latencyMs,
    jitterMs: rt.jitterMs,
    slowMs: rt.slowMs,
    retryAfterSec: rt.retryAfterSec,
    changeEveryMs: rt.changeEveryMs,
    cacheControl: typeof rt.cacheControl === 'function' ? '(function)' : (rt.cacheControl ?? null),
    surrogateKeys: rt.surrogateKeys,
    etag: rt.etag,
    lastModified: rt.lastModified,
    compress: rt.compress,
    extraHeaders: rt.extraHeaders,
    rateLimit: rt.rateLimit ?? null,
    auth: rt.auth ? Object.keys(rt.auth) : null,
  }
}
