/**
 * Library benchmark: cistern's cache engine against bentocache, cache-manager and
 * @epic-web/cachified, all in one process and one run. `npm run bench:lib`.
 *
 * 1. getOrSet hit in the memory tier (1,024 warm keys, rotating; ~1 KB JSON object; no side
 *    serializes on a memory hit);
 * 2. getOrSet hit from SQLite with cistern's memory tier off (no peer has an SQLite setup installed);
 * 3. set throughput;
 * 4. the memory tier's byte bound after 1,000,000 distinct keys, in a child process (not mitata).
 *
 * mitata times each benchmark in batches of calls; "median" is the median of those batch means.
 * Pass a regular expression to run only the benchmarks whose names match it (e.g. `sqlite`), and
 * `--no-memory` to skip part 4.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bench, run } from 'mitata'
import { sqliteStore } from '../src/stores/sqlite/index.js'
import { bentocache, type Contender, cacheManager, cachifiedLru, cistern, VALUES } from './lib/contenders.js'
import { KEY_COUNT, KEYS, rotation, TTL_MS, VALUE_BYTES } from './lib/fixtures.js'
import type { MemoryBoundResult } from './lib/memory-bound.js'
import { machine, markdownTable, mb, opsPerSecond, percentOver, type Row } from './lib/report.js'

const args = process.argv.slice(2)
const filterArg = args.find((arg) => !arg.startsWith('--'))
const filter = filterArg === undefined ? undefined : new RegExp(filterArg)
const skipMemoryBound = args.includes('--no-memory')

const PEERS = ['bentocache', 'cache-manager', '@epic-web/cachified', 'lru-cache', 'keyv', 'mitata']

function version(name: string): string {
  const manifest = join(process.cwd(), 'node_modules', name, 'package.json')
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
}

const startedAt = performance.now()
console.log(machine())
console.log(`versions: ${PEERS.map((name) => `${name} ${version(name)}`).join(', ')}`)
console.log(`value: ${VALUE_BYTES} bytes of JSON; ${KEY_COUNT} keys rotating; ttl ${TTL_MS} ms\n`)

// ---- set-ups -------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-'))
const sqliteHitStore = sqliteStore({ path: join(dir, 'hit.db'), sweepIntervalMs: 0 })
const sqliteSetStore = sqliteStore({ path: join(dir, 'set.db'), sweepIntervalMs: 0 })

const contenders = {
  cistern: await cistern('cistern (memory tier)'),
  bento: await bentocache('bentocache (memoryDriver, serialize: false)', false),
  bentoSerialized: await bentocache('bentocache (memoryDriver, serialize: true, its default)', true),
  cacheManager: await cacheManager('cache-manager (default Keyv Map)'),
  cachified: await cachifiedLru('cachified (lru-cache adapter)'),
  cisternSqlite: await cistern('cistern (SQLite, memory: false)', { store: sqliteHitStore, memory: false }),
  cisternSqliteSet: await cistern('cistern (memory tier + SQLite)', { store: sqliteSetStore }),
} satisfies Record<string, Contender>

interface Planned {
  group: string
  name: string
  fn: () => unknown
  versus?: string
}

const planned: Planned[] = []
function plan(group: string, name: string, fn: () => unknown, versus?: string): void {
  planned.push({ group, name, fn, versus: versus === undefined ? undefined : `${group}/${versus}` })
}

const HIT = 'getOrSet hit, memory tier'
plan(HIT, contenders.cistern.name, contenders.cistern.hit)
for (const peer of [
  contenders.bento,
  contenders.cacheManager,
  contenders.cachified,
  contenders.bentoSerialized,
]) {
  plan(HIT, peer.name, peer.hit, contenders.cistern.name)
}

const SQLITE = 'getOrSet hit, SQLite, memory tier empty'
plan(SQLITE, contenders.cisternSqlite.name, contenders.cisternSqlite.hit)
// Diagnostics: what the engine adds on top of the store read (and the JSON decode it must do).
const storeKey = rotation(KEYS)
const now = Date.now()
plan(SQLITE, 'diagnostic: sqliteStore.get() alone', () => sqliteHitStore.get(storeKey(), now))
// The read the engine makes with its memory tier off: the value as text, no Buffer in between.
plan(SQLITE, 'diagnostic: sqliteStore.getTextSync() + JSON.parse', () => {
  const entry = sqliteHitStore.getTextSync(storeKey(), now)
  return entry && JSON.parse(entry.text)
})

const SET = 'set'
plan(SET, 'cistern (memory tier)', contenders.cistern.set)
plan(SET, contenders.cisternSqliteSet.name, contenders.cisternSqliteSet.set)
for (const peer of [
  contenders.bento,
  contenders.cacheManager,
  contenders.cachified,
  contenders.bentoSerialized,
]) {
  plan(SET, peer.name, peer.set, 'cistern (memory tier)')
}

// Sanity: every hit benchmark must hit. One pass over the keys before timing anything.
for (const contender of [
  contenders.cistern,
  contenders.bento,
  contenders.cacheManager,
  contenders.cachified,
]) {
  for (let i = 0; i < KEY_COUNT; i++) await contender.hit()
}
for (let i = 0; i < KEY_COUNT; i++) {
  const result = await contenders.cisternSqlite.hit()
  if (!result || (result as { status?: string }).status !== 'hit')
    throw new Error('SQLite read was not a hit')
}

// ---- mitata --------------------------------------------------------------------------------------

for (const { group, name, fn } of planned) bench(`${group}/${name}`, fn)
const verbose = args.includes('--verbose')
const { benchmarks } = await run({ format: verbose ? 'mitata' : 'quiet', filter })

const byName = new Map<string, Row>()
const rows: Row[] = []
for (const trial of benchmarks) {
  const stats = trial.runs[0]?.stats
  const plannedRow = planned.find((p) => `${p.group}/${p.name}` === trial.alias)
  if (!stats || !plannedRow) throw new Error(`no result for ${trial.alias}: ${String(trial.runs[0]?.error)}`)
  const row: Row = { group: plannedRow.group, name: plannedRow.name, medianNs: stats.p50, meanNs: stats.avg }
  const versus = plannedRow.versus === undefined ? undefined : byName.get(plannedRow.versus)
  if (versus) row.versus = versus
  byName.set(trial.alias, row)
  rows.push(row)
}

for (const contender of Object.values(contenders)) {
  const calls = contender.factoryCalls()
  if (calls !== 0) throw new Error(`${contender.name}: a hit benchmark ran the factory ${calls} times`)
}
for (const contender of Object.values(contenders)) await contender.close()
rmSync(dir, { recursive: true, force: true })

console.log('## Results\n')
console.log(markdownTable(rows))
console.log(
  '\ncistern/peer = peer median ns / cistern median ns (throughput ratio; > 1 means cistern is faster).',
)
console.log(
  `filled with VALUES of ${VALUES.length} prebuilt objects; every hit benchmark ran its factory 0 times.`,
)

// ---- targets -------------------------------------------------------------------------------------

const lines: string[] = []
const memoryHit = byName.get(`${HIT}/${contenders.cistern.name}`)
const bentoHit = byName.get(`${HIT}/${contenders.bento.name}`)
if (memoryHit && bentoHit) {
  const r = bentoHit.medianNs / memoryHit.medianNs
  lines.push(`memory-tier hit vs bentocache: ${r.toFixed(2)}x (target >= 2x): ${r >= 2 ? 'met' : 'MISSED'}`)
}
const sqliteHit = byName.get(`${SQLITE}/${contenders.cisternSqlite.name}`)
if (sqliteHit) {
  const ops = opsPerSecond(sqliteHit.medianNs)
  const verdict = ops >= 100_000 ? 'met' : 'MISSED'
  lines.push(`SQLite hit: ${Math.round(ops).toLocaleString('en-US')} ops/s (target >= 100,000): ${verdict}`)
}

// ---- memory bound (own process: a clean heap) ----------------------------------------------------

if (!skipMemoryBound) {
  const script = fileURLToPath(new URL('./lib/memory-bound.js', import.meta.url))
  const out = execFileSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8' })
  const m = JSON.parse(out) as MemoryBoundResult
  console.log('\n## Memory tier bound (createCache({ memory: "64MB" }), no store)\n')
  console.log(
    `keys written: ${m.keysWritten.toLocaleString('en-US')} distinct, ${m.valueBytes}-byte JSON values`,
  )
  console.log(`write time: ${m.seconds.toFixed(1)} s (${Math.round(m.keysWritten / m.seconds)} sets/s)`)
  console.log(`entries kept: ${m.entries.toLocaleString('en-US')}`)
  console.log(`bound: ${mb(m.bound)}`)
  console.log(`accounted by the tier: ${mb(m.accountedBytes)} (${percentOver(m.accountedBytes, m.bound)})`)
  console.log(
    `heap growth (heapUsed + arrayBuffers, after GC): ${mb(m.heapGrowth)} (${percentOver(m.heapGrowth, m.bound)})` +
      ` = heapUsed ${mb(m.heapUsedGrowth)} + arrayBuffers ${mb(m.arrayBuffersGrowth)}`,
  )
  console.log(
    `freed by close() (the cache's own share): ${mb(m.heapRetained)} (${percentOver(m.heapRetained, m.bound)})`,
  )
  console.log(`rss growth (includes allocator slack, informational): ${mb(m.rssGrowth)}`)
  console.log(
    `per entry: accounted ${(m.accountedBytes / m.entries).toFixed(0)} B, ` +
      `real ${(m.heapGrowth / m.entries).toFixed(0)} B (growth) / ${(m.heapRetained / m.entries).toFixed(0)} B (freed)`,
  )
  const within = m.heapGrowth <= m.bound * 1.05
  lines.push(
    `memory tier after 1M keys: heap growth ${percentOver(m.heapGrowth, m.bound)} of the bound ` +
      `(target within 5%): ${within ? 'met' : 'MISSED'}`,
  )
}

console.log('\n## Targets\n')
for (const line of lines) console.log(`- ${line}`)
const seconds = ((performance.now() - startedAt) / 1000).toFixed(0)
console.log(`\nrun took ${seconds} s; load average at end: ${loadavg()[0]?.toFixed(2)} (1m)`)
