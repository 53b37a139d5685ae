/**
 * The memory tier's byte bound, measured on the real heap. Runs in its own process (library.ts
 * spawns it with --expose-gc) so the heap holds nothing but this cache; prints one JSON line.
 *
 * createCache({ memory: '64MB' }) without a store, then 1,000,000 distinct keys with ~100-byte
 * values. The tier evicts to its bound as it goes; afterwards we compare what it accounts for
 * (memoryStats().bytes) and what the heap really grew by (heapUsed + arrayBuffers, after full GCs)
 * with the bound.
 *
 * Investigation flags (not used by `npm run bench:lib`):
 *   --extra-overhead=N  count N more bytes per entry (a codec whose decodedSize adds N): the same
 *                       effect on the memory tier as raising ENTRY_OVERHEAD by N, without editing src/
 *   --decoded-factor=F  count a decoded JSON value as F times its encoded bytes (jsonCodec says 2)
 *   --large             the ~1 KB bench object instead of ~100-byte values (200,000 keys)
 */
import { type Codec, createCache, jsonCodec } from '../../src/engine/index.js'
import { parseSize } from '../../src/util/units.js'
import { type Json, makeValue } from './fixtures.js'

export interface MemoryBoundResult {
  bound: number
  keysWritten: number
  valueBytes: number
  extraOverhead: number
  decodedFactor: number | undefined
  entries: number
  accountedBytes: number
  /** heapUsed + arrayBuffers after the run minus before it (both after full GCs). */
  heapGrowth: number
  /** heapUsed + arrayBuffers with the cache full minus after close() emptied it. */
  heapRetained: number
  heapUsedGrowth: number
  arrayBuffersGrowth: number
  rssGrowth: number
  seconds: number
}

const BOUND = '64MB'

/** ~100 bytes of JSON. */
export function smallValue(i: number): Json {
  return {
    id: i,
    sku: `SKU-${i.toString().padStart(7, '0')}`,
    name: `Item ${i}`,
    price: 1999 + (i % 500),
    currency: 'EUR',
    inStock: i % 3 !== 0,
  }
}

function fullGc(): void {
  const gc = globalThis.gc
  if (!gc) throw new Error('run with node --expose-gc')
  // Several passes: weak references and finalizers (ArrayBuffer backing stores) need more than one.
  for (let i = 0; i < 4; i++) gc()
}

function usage(): { heap: number; arrayBuffers: number; rss: number } {
  const m = process.memoryUsage()
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss }
}

function costedCodec(extra: number, factor: number | undefined): Codec<Json> {
  const base = jsonCodec as Codec<Json>
  if (extra === 0 && factor === undefined) return base
  const decoded = (value: Json, size: number) =>
    factor === undefined ? (base.decodedSize?.(value, size) ?? 0) : Math.round(size * factor)
  return { ...base, decodedSize: (value, size) => decoded(value, size) + extra }
}

interface Options {
  extra: number
  factor: number | undefined
  large: boolean
}

async function measure(options: Options): Promise<MemoryBoundResult> {
  const bound = parseSize(BOUND)
  const keys = options.large ? 200_000 : 1_000_000
  const value = options.large ? makeValue : smallValue
  const codec = costedCodec(options.extra, options.factor)
  const entryOptions = { ttl: 3_600_000 }
  // Compile and optimize the write path first, so code and feedback vectors are not counted as cache.
  const warmup = createCache<Json>({ memory: '1MB', codec })
  for (let i = 0; i < 20_000; i++) await warmup.set(`warm:${i}`, value(i), entryOptions)
  await warmup.close()
  fullGc()
  const before = usage()
  const started = performance.now()
  const cache = createCache<Json>({ memory: BOUND, codec })
  for (let i = 0; i < keys; i++) await cache.set(`item:${i}`, value(i), entryOptions)
  const seconds = (performance.now() - started) / 1000
  fullGc()
  const full = usage()
  const stats = cache.memoryStats()
  await cache.close()
  fullGc()
  const emptied = usage()
  return {
    bound,
    keysWritten: keys,
    valueBytes: Buffer.byteLength(JSON.stringify(value(keys - 1))),
    extraOverhead: options.extra,
    decodedFactor: options.factor,
    entries: stats.entries,
    accountedBytes: stats.bytes,
    heapGrowth: full.heap + full.arrayBuffers - (before.heap + before.arrayBuffers),
    heapRetained: full.heap + full.arrayBuffers - (emptied.heap + emptied.arrayBuffers),
    heapUsedGrowth: full.heap - before.heap,
    arrayBuffersGrowth: full.arrayBuffers - before.arrayBuffers,
    rssGrowth: full.rss - before.rss,
    seconds,
  }
}

function flag(name: string): number | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  if (arg === undefined) return undefined
  const n = Number(arg.slice(name.length + 3))
  if (!(n >= 0)) throw new Error(`--${name} takes a non-negative number`)
  return n
}

const result = await measure({
  extra: Math.round(flag('extra-overhead') ?? 0),
  factor: flag('decoded-factor'),
  large: process.argv.includes('--large'),
})
process.stdout.write(`${JSON.stringify(result)}\n`)
