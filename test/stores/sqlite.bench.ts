import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, bench, describe } from 'vitest'
import { sqliteStore } from '../../src/stores/sqlite/index.js'
import { digestOf, makeEntry } from './contract/support.js'

// Throughput of the SQLite store's hot calls with 1 KB values. Not part of `vitest run`:
//   npx vitest bench --run test/stores/sqlite.bench.ts
const dir = mkdtempSync(join(tmpdir(), 'cistern-sqlite-bench-'))
const store = sqliteStore({ path: join(dir, 'bench.db'), sweepIntervalMs: 0 })
const KEYS = 10_000
const value = randomBytes(1024)
const template = makeEntry('x', { value, digest: digestOf(value), tags: ['teams'], meta: { status: 200 } })
for (let i = 0; i < KEYS; i++) await store.set({ ...template, key: `team:${i}` })
afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

let i = 0
describe('sqlite store, 1 KB values, 10k keys', () => {
  bench('get (hit)', async () => {
    await store.get(`team:${i++ % KEYS}`)
  })
  bench('get (miss)', async () => {
    await store.get(`none:${i++ % KEYS}`)
  })
  bench('set (replace, 1 tag)', async () => {
    await store.set({ ...template, key: `team:${i++ % KEYS}` })
  })
})
