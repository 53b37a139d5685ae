import type { ChangeClass } from '../../examples/sim-upstream/index.js'
import { createRng, type Rng } from '../../examples/sim-upstream/prng.js'
import { parseDuration, UnitError } from '../../src/util/units.js'

/** What one run of the economy benchmark simulates; every field has a command-line option. */
export interface Workload {
  seed: number
  keys: number
  /** Zipf exponent of key popularity (rank r is read ∝ r^−zipf). */
  zipf: number
  /** Simulated duration, ms. */
  durationMs: number
  /** Client reads per simulated second at full rate. */
  readsPerSecond: number
  /** Clients arrive over this long: the read rate ramps up linearly from 0 (a cold start, not a stampede). */
  rampMs: number
  classes: ChangeClass[]
  /** The route's `refresh.every`: `adaptive` or a duration. */
  every: string
  min: string
  max: string
  /** The route's ttl (with adaptive, at least `max`, so reads do not revalidate kept keys between refreshes). */
  ttl: string
  /** The upstream's published limit (it answers 429 past it) and cistern's budget under it. */
  upstreamPerSecond: number
  budget: string
  /** Write one line per key (reads, changes, calls, the poller's calls, mean staleness) here, if set. */
  details?: string
}

export const DEFAULT_MIX = '1m:0.03,1h:0.07,6h:0.6,never:0.3'

export const USAGE = `npm run bench:economy -- [options]
  --seed N            workload seed (change times, reads)          default 2025
  --mix LIST          change classes, mean interval:share, e.g.
                      "${DEFAULT_MIX}"  (never = never changes)
  --keys N            items in the catalogue                         default 10000
  --zipf S            popularity exponent                            default 1.1
  --duration D        simulated time                                 default 1h
  --rate N            client reads per simulated second              default 3000
  --ramp D            read rate ramps up from 0 over                 default 5m
  --every E           adaptive or a fixed interval such as 1m        default adaptive
  --min D / --max D   adaptive bounds                                default 10s / 10m
  --ttl D             route ttl                                      default the max (adaptive) or every
  --limit N           upstream rate limit, calls per second          default 100
  --budget R          cistern's budget for the upstream (burst 20)   default 80/s
  --details FILE      write per-key figures (TSV) to FILE`

function option(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(`--${name}`)
  if (at === -1) return undefined
  const value = argv[at + 1]
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`)
  return value
}

function duration(text: string, what: string): number {
  try {
    return parseDuration(text)
  } catch (error) {
    if (error instanceof UnitError) throw new Error(`${what}: "${text}" is not a duration (e.g. 90s, 5m, 2h)`)
    throw error
  }
}

function positive(text: string, what: string, integer = false): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${what}: "${text}" is not a positive ${integer ? 'integer' : 'number'}`)
  }
  return n
}

/** `1m:0.03,6h:0.6,never:0.3` → change classes (shares are normalised later). */
export function parseMix(text: string): ChangeClass[] {
  const classes = text.split(',').map((part) => {
    const [every, share, extra] = part.trim().split(':')
    if (every === undefined || share === undefined || extra !== undefined) {
      throw new Error(`--mix: "${part}" is not interval:share (e.g. 1m:0.03 or never:0.3)`)
    }
    return {
      name: every,
      share: positive(share, `--mix ${every}`),
      everyMs: every === 'never' ? null : duration(every, `--mix ${part}`),
    }
  })
  if (new Set(classes.map((c) => c.name)).size !== classes.length)
    throw new Error('--mix: a class is named twice')
  return classes
}

export function parseWorkload(argv: readonly string[]): Workload {
  const get = (name: string, fallback: string) => option(argv, name) ?? fallback
  const every = get('every', 'adaptive')
  if (every !== 'adaptive') duration(every, '--every')
  const max = get('max', '10m')
  return {
    seed: positive(get('seed', '2025'), '--seed', true),
    keys: positive(get('keys', '10000'), '--keys', true),
    zipf: positive(get('zipf', '1.1'), '--zipf'),
    durationMs: duration(get('duration', '1h'), '--duration'),
    readsPerSecond: positive(get('rate', '3000'), '--rate'),
    rampMs: duration(get('ramp', '5m'), '--ramp'),
    classes: parseMix(get('mix', DEFAULT_MIX)),
    every,
    min: get('min', '10s'),
    max,
    ttl: get('ttl', every === 'adaptive' ? max : every),
    upstreamPerSecond: positive(get('limit', '100'), '--limit', true),
    budget: get('budget', '80/s'),
    ...(option(argv, 'details') !== undefined && { details: option(argv, 'details')! }),
  }
}

/** Key ranks drawn with probability ∝ rank^−s (rank 0 the most read), by inverse CDF. */
export class Zipf {
  readonly #cdf: Float64Array
  readonly #rng: Rng

  constructor(keys: number, s: number, seed: number) {
    this.#cdf = new Float64Array(keys)
    let sum = 0
    for (let r = 0; r < keys; r++) {
      sum += (r + 1) ** -s
      this.#cdf[r] = sum
    }
    for (let r = 0; r < keys; r++) this.#cdf[r]! /= sum
    this.#rng = createRng(seed)
  }

  /** Probability of rank r. */
  weight(rank: number): number {
    return this.#cdf[rank]! - (rank === 0 ? 0 : this.#cdf[rank - 1]!)
  }

  next(): number {
    const u = this.#rng.next()
    let lo = 0
    let hi = this.#cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.#cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
