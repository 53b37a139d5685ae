import { CisternError, type ErrorCode } from './errors.js'

/** A value these parsers refuse: `syntax` when it is not written as the unit, `range` when it is but cannot be used. */
export class UnitError extends CisternError {
  readonly problem: 'syntax' | 'range'
  constructor(code: ErrorCode, message: string, problem: 'syntax' | 'range') {
    super(code, message)
    this.name = 'UnitError'
    this.problem = problem
  }
}

/**
 * Strict parsers for the units people write in config and options: durations (`90s`, `5m`, `24h`,
 * `1h30m`), sizes (`64MB`, `512KiB`) and rates (`40/s`, `36000/h`). Anything ambiguous is refused
 * rather than guessed: `10` is not a duration, `1.5.2s` is not anything.
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y

/** A duration in milliseconds: a non-negative finite number, or a string such as `90s` or `1h30m`. */
export type Duration = number | string

export function parseDuration(input: Duration, where = 'duration'): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return input
    throw new CisternError(
      'E_INVALID_DURATION',
      `${where}: expected a non-negative number of ms, got ${input}`,
    )
  }
  const text = input.trim()
  if (text === '0') return 0
  let total = 0
  let at = 0
  DURATION_PART.lastIndex = 0
  while (at < text.length) {
    DURATION_PART.lastIndex = at
    const match = DURATION_PART.exec(text)
    if (!match) break
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!
    at = DURATION_PART.lastIndex
  }
  if (at !== text.length || text.length === 0) {
    throw new UnitError(
      'E_INVALID_DURATION',
      `${where}: "${input}" is not a duration (expected e.g. 500ms, 90s, 5m, 24h, 7d, 1h30m)`,
      'syntax',
    )
  }
  const ms = Math.round(total)
  if (!Number.isSafeInteger(ms)) {
    throw new UnitError('E_INVALID_DURATION', `${where}: "${input}" is too long a duration`, 'range')
  }
  return ms
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
}
const SIZE = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)$/i

/** A size in bytes: a non-negative integer, or a string such as `64MB` or `512KiB`. */
export type Size = number | string

export function parseSize(input: Size, where = 'size'): number {
  if (typeof input === 'number') {
    if (Number.isInteger(input) && input >= 0) return input
    throw new CisternError(
      'E_INVALID_SIZE',
      `${where}: expected a non-negative integer of bytes, got ${input}`,
    )
  }
  const match = SIZE.exec(input.trim())
  if (!match) {
    throw new UnitError(
      'E_INVALID_SIZE',
      `${where}: "${input}" is not a size (expected e.g. 512KB, 64MB, 1GiB)`,
      'syntax',
    )
  }
  const bytes = Math.floor(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!)
  if (!Number.isSafeInteger(bytes)) {
    throw new UnitError('E_INVALID_SIZE', `${where}: "${input}" is too large a size`, 'range')
  }
  return bytes
}

/** A rate: `count` events per `perMs` milliseconds. */
export interface Rate {
  count: number
  perMs: number
}
const RATE = /^(\d+(?:\.\d+)?)\s*\/\s*(ms|s|m|h|d|\d+(?:ms|s|m|h|d))$/

export function parseRate(input: string, where = 'rate'): Rate {
  const match = RATE.exec(input.trim())
  const count = match ? Number(match[1]) : Number.NaN
  if (!match) {
    throw new UnitError(
      'E_INVALID_RATE',
      `${where}: "${input}" is not a rate (expected e.g. 10/s, 600/m, 36000/h, 100/10s)`,
      'syntax',
    )
  }
  const unit = match[2]!
  const perMs = /^\d/.test(unit) ? parseDuration(unit, where) : DURATION_UNITS[unit]!
  // `0/s`, `1/0s` and digit strings too long for a double read as rates but cannot limit anything.
  if (!(count > 0) || !(perMs > 0) || !Number.isFinite(count / perMs)) {
    throw new UnitError(
      'E_INVALID_RATE',
      `${where}: "${input}" is not a usable rate (count and period must be above zero)`,
      'range',
    )
  }
  return { count, perMs }
}
