import { CisternError } from '../../util/errors.js'
import { parseRate, type Rate } from '../../util/units.js'

/** A rate as written in config (`40/s`, `36000/h`) or already parsed. */
export type RateInput = string | Rate
/** Tokens background work may never take: a count, or a share of the burst such as `20%`. */
export type ReserveInput = number | `${number}%`

/** One rate with its own burst (and reserve); the top-level `burst` / `reserve` are the defaults. */
export interface LimitInput {
  rate: RateInput
  burst?: number
  reserve?: ReserveInput
}

export interface LimitsOptions {
  /** One rate or several; all must allow a call (e.g. `['100/s', '36000/h']`). */
  rate: RateInput | LimitInput | Array<RateInput | LimitInput>
  /** Tokens a bucket holds when full (default 1: strictly spaced calls). */
  burst?: number
  /** Default `20%` of the burst; always clamped to burst − 1 so background can run at all. */
  reserve?: ReserveInput
  /**
   * Allow an empty `rate`: no rate ceiling at all, so only the concurrency cap and pauses apply. An
   * upstream with no configured rate still needs somewhere to keep its 429 pauses.
   */
  unlimited?: boolean
}

/**
 * A rate in exact integer units for GCRA: time is counted in units of `1 / unitsPerMs` ms and one
 * token is worth `interval` units, so every comparison on the hot path is integer arithmetic.
 */
export interface Limit {
  label: string
  count: number
  perMs: number
  burst: number
  /** Tokens reserved for foreground (0 ≤ reserve ≤ burst − 1, may be fractional). */
  reserve: number
  unitsPerMs: number
  interval: number
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}

function toRate(input: RateInput, where: string): { rate: Rate; label: string } {
  if (typeof input === 'string') return { rate: parseRate(input, where), label: input.trim() }
  return { rate: input, label: `${input.count}/${input.perMs}ms` }
}

function integerUnits(rate: Rate, where: string): { unitsPerMs: number; interval: number } {
  if (!Number.isSafeInteger(rate.perMs) || rate.perMs <= 0 || !(rate.count > 0)) {
    throw new CisternError('E_INVALID_RATE', `${where}: count must be > 0 and perMs a positive integer`)
  }
  for (let scale = 1; scale <= 1_000_000; scale *= 10) {
    const scaled = rate.count * scale
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9) {
      const count = Math.round(scaled)
      const perMs = rate.perMs * scale
      const g = gcd(count, perMs)
      if (count / g > 1_000_000) break
      return { unitsPerMs: count / g, interval: perMs / g }
    }
  }
  throw new CisternError('E_INVALID_RATE', `${where}: rate ${rate.count}/${rate.perMs}ms is too fine-grained`)
}

function checkBurst(burst: number, where: string): number {
  if (!Number.isSafeInteger(burst) || burst < 1) {
    throw new CisternError('E_CONFIG', `${where}: burst must be an integer >= 1, got ${burst}`)
  }
  return burst
}

function reserveTokens(input: ReserveInput, burst: number, where: string): number {
  let tokens: number
  if (typeof input === 'number') {
    tokens = input
  } else {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(input.trim())
    if (!match || Number(match[1]) > 100) {
      throw new CisternError('E_CONFIG', `${where}: reserve "${input}" must be a count or a percentage`)
    }
    tokens = (Number(match[1]) / 100) * burst
  }
  if (!Number.isFinite(tokens) || tokens < 0) {
    throw new CisternError('E_CONFIG', `${where}: reserve must be >= 0, got ${input}`)
  }
  return Math.min(tokens, burst - 1)
}

function isLimitInput(input: RateInput | LimitInput): input is LimitInput {
  return typeof input === 'object' && 'rate' in input
}

/** Validates and normalizes the rates of one budget; throws CisternError on bad input. */
export function normalizeLimits(options: LimitsOptions, where = 'budget'): Limit[] {
  const list = Array.isArray(options.rate) ? options.rate : [options.rate]
  if (list.length === 0) {
    if (options.unlimited) return []
    throw new CisternError('E_CONFIG', `${where}: at least one rate is required`)
  }
  const defaultBurst = checkBurst(options.burst ?? 1, where)
  return list.map((item, i) => {
    const at = `${where}.rate[${i}]`
    const input: LimitInput = isLimitInput(item) ? item : { rate: item }
    const { rate, label } = toRate(input.rate, at)
    const burst = checkBurst(input.burst ?? defaultBurst, at)
    const reserve = reserveTokens(input.reserve ?? options.reserve ?? '20%', burst, at)
    return { label, count: rate.count, perMs: rate.perMs, burst, reserve, ...integerUnits(rate, at) }
  })
}
