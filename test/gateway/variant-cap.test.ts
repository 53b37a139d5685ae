import { describe, expect, it } from 'vitest'
import { countVariants, VariantCap } from '../../src/gateway/routing/variant-cap.js'
import type { Entry } from '../../src/model/entry.js'
import { memoryStore } from '../../src/stores/memory/index.js'

const entry = (key: string, now: number): Entry => ({
  key,
  value: Buffer.from('{}'),
  storedAt: now,
  fetchedAt: now,
  freshUntil: now + 3_600_000,
  staleUntil: now + 3_600_000,
  expiresAt: now + 7_200_000,
  digest: 'd',
  tags: [],
  size: 2,
})

describe('maxVariants', () => {
  it('counts every query and variant key of one path, and no other path', async () => {
    const now = Date.now()
    const store = memoryStore({ maxSize: '1MB' })
    for (const key of ['/a', '/a?x=1', '/a?x=2', '/a#x-a=1', '/a#@auth=h', '/ab?x=1', '/a/b?x=1'])
      await store.set(entry(key, now))
    expect(await countVariants(store, '/a', 100)).toBe(4)
    expect(await countVariants(store, '/a', 3)).toBe(3)
  })

  it('asks the store once per path every 10 s and counts its own admissions in between', async () => {
    const now = Date.now()
    const store = memoryStore({ maxSize: '1MB' })
    await store.set(entry('/p?page=1', now))
    const cap = new VariantCap(3)
    expect(await cap.admit(store, '/p', now)).toBe(true) // the store holds 1: this makes 2
    expect(await cap.admit(store, '/p', now + 1)).toBe(true) // 3
    expect(await cap.admit(store, '/p', now + 2)).toBe(false)
    // Entries purged meanwhile count again only after the recount.
    await store.delete('/p?page=1')
    expect(await cap.admit(store, '/p', now + 5_000)).toBe(false)
    expect(await cap.admit(store, '/p', now + 10_001)).toBe(true)
  })
})
