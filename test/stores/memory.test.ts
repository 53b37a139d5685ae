import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { memoryStore } from '../../src/stores/memory/index.js'
import { openStore } from '../../src/stores/open-store.js'
import { makeEntry } from './contract/support.js'
import { runStoreContract } from './contract.js'

// Large enough that the contract's 5 MB values and concurrent writers never trigger eviction.
runStoreContract('memory', async () => ({
  store: memoryStore({ maxSize: '256MB' }),
  cleanup: async () => {},
}))

describe('memory store from the config', () => {
  const configured = (store: string) => parseConfig(`store: ${store}\n`, '/tmp/cistern.yaml', {}).store

  it('is bounded by store.maxSize, else by the larger of store.memory and 64MB', () => {
    expect(configured('{ kind: memory, maxSize: 8MB }').maxSize).toBe(8_000_000)
    expect(configured('{ kind: memory, memory: 128MB }').maxSize).toBe(128_000_000)
    expect(configured('{ kind: memory }').maxSize).toBe(64 * 1024 * 1024)
    expect(configured('{ kind: sqlite }').maxSize).toBe(1_000_000_000)
    expect(() => configured('{ kind: sqlite, maxSize: 64KB }')).toThrow(
      /store\.maxSize: must be at least 1MB/,
    )
  })

  it('keeps a flood of distinct keys within store.maxSize', async () => {
    const store = openStore(configured('{ kind: memory, maxSize: 2MB }'))
    const value = Buffer.alloc(1000, 1)
    for (let i = 0; i < 10_000; i++) await store.set(makeEntry(`/junk?q=${i}`, { value }))
    const { entries, bytes } = await store.stats()
    expect(bytes).toBeLessThanOrEqual(2_000_000)
    expect(entries).toBeLessThan(2000)
    expect(await store.get('/junk?q=9999')).toBeDefined()
    await store.close()
  })
})
