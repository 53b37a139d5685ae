import { describe, expect, it } from 'vitest'
import { entryInfo } from '../../../src/model/entry.js'
import {
  type ContractContext,
  fullEntry,
  listAll,
  listKeys,
  makeEntry,
  SECOND,
  setAll,
  sorted,
} from './support.js'

const pad = (n: number) => String(n).padStart(3, '0')

export function describeListing(ctx: ContractContext): void {
  describe('list', () => {
    it('pages by key with a cursor until no cursor comes back', async () => {
      const keys = Array.from({ length: 25 }, (_, i) => `p:${pad(i)}`)
      // Written out of order so that insertion order cannot pass for key order.
      await setAll(
        ctx.store,
        [...keys].reverse().map((key) => makeEntry(key)),
      )
      await setAll(ctx.store, [makeEntry('o:1'), makeEntry('q:1')])

      const first = await ctx.store.list({ prefix: 'p:', limit: 10 })
      expect(first.items.map((item) => item.key)).toEqual(keys.slice(0, 10))
      expect(first.cursor).toBeDefined()
      const second = await ctx.store.list({ prefix: 'p:', limit: 10, cursor: first.cursor })
      expect(second.items.map((item) => item.key)).toEqual(keys.slice(10, 20))
      const third = await ctx.store.list({ prefix: 'p:', limit: 10, cursor: second.cursor })
      expect(third.items.map((item) => item.key)).toEqual(keys.slice(20))
      expect(third.cursor).toBeUndefined()
    })

    it('returns metadata only, equal to what was stored', async () => {
      const entries = [fullEntry('m:1'), makeEntry('m:2', { value: Buffer.alloc(64 * 1024, 7) })]
      await setAll(ctx.store, entries)
      const { items } = await ctx.store.list({ prefix: 'm:', limit: 10 })
      expect(items).toEqual(entries.map(entryInfo))
      for (const item of items) expect('value' in item).toBe(false)
    })

    it('an empty store or an empty selection gives an empty page and no cursor', async () => {
      expect(await ctx.store.list({ limit: 10 })).toEqual({ items: [] })
      await ctx.store.set(makeEntry('a', { tags: ['t'] }))
      expect(await ctx.store.list({ prefix: 'b', limit: 10 })).toEqual({ items: [] })
      expect(await ctx.store.list({ tag: 'u', limit: 10 })).toEqual({ items: [] })
      expect(await ctx.store.list({ tag: 't', prefix: 'b', limit: 10 })).toEqual({ items: [] })
    })

    it('a page that exactly fills the limit may carry a cursor, and the next page is then empty', async () => {
      await setAll(
        ctx.store,
        ['a', 'b', 'c', 'd'].map((key) => makeEntry(key)),
      )
      const first = await ctx.store.list({ limit: 4 })
      expect(first.items.map((item) => item.key)).toEqual(['a', 'b', 'c', 'd'])
      if (first.cursor !== undefined) {
        expect(await ctx.store.list({ limit: 4, cursor: first.cursor })).toEqual({ items: [] })
      }
    })

    it('filters by tag, and by tag and prefix together, in key order across pages', async () => {
      const entries = Array.from({ length: 30 }, (_, i) =>
        makeEntry(`${i % 2 === 0 ? 'even' : 'odd'}:${pad(i)}`, {
          tags: i % 3 === 0 ? ['three', 'all'] : ['all'],
        }),
      )
      await setAll(ctx.store, entries)
      const three = entries.filter((_, i) => i % 3 === 0).map((entry) => entry.key)
      expect((await listAll(ctx.store, { tag: 'three', limit: 3 })).map((item) => item.key)).toEqual(
        [...three].sort(),
      )
      const evenThree = three.filter((key) => key.startsWith('even:')).sort()
      expect(
        (await listAll(ctx.store, { tag: 'three', prefix: 'even:', limit: 2 })).map((i) => i.key),
      ).toEqual(evenThree)
      expect(await listKeys(ctx.store, { tag: 'all' })).toHaveLength(30)
    })

    it('leaves out expired entries', async () => {
      const now = Date.now()
      const dead = { freshUntil: now - 3 * SECOND, staleUntil: now - 2 * SECOND, expiresAt: now - SECOND }
      await setAll(ctx.store, [
        makeEntry('e:1', { tags: ['t'] }),
        makeEntry('e:2', { ...dead, tags: ['t'] }),
        makeEntry('e:3', { tags: ['t'] }),
      ])
      expect(await listKeys(ctx.store, { prefix: 'e:' })).toEqual(['e:1', 'e:3'])
      expect(await listKeys(ctx.store, { tag: 't' })).toEqual(['e:1', 'e:3'])
      const page = await ctx.store.list({ prefix: 'e:', limit: 1 })
      const rest = await listAll(ctx.store, { prefix: 'e:', limit: 1 })
      expect(page.items.map((item) => item.key)).toEqual(['e:1'])
      expect(rest.map((item) => item.key)).toEqual(['e:1', 'e:3'])
    })

    it('is stable while the key space changes: each untouched key appears exactly once', async () => {
      const keys = Array.from({ length: 12 }, (_, i) => `s:${pad(i * 10)}`)
      await setAll(
        ctx.store,
        keys.map((key) => makeEntry(key)),
      )
      const first = await ctx.store.list({ prefix: 's:', limit: 5 })
      // Behind the cursor, ahead of it, and a deletion ahead of it.
      await ctx.store.set(makeEntry('s:001'))
      await ctx.store.set(makeEntry('s:095'))
      await ctx.store.delete('s:100')
      const seen = [...first.items.map((item) => item.key)]
      let cursor = first.cursor
      while (cursor !== undefined) {
        const page = await ctx.store.list({ prefix: 's:', limit: 5, cursor })
        seen.push(...page.items.map((item) => item.key))
        cursor = page.cursor
      }
      // s:001 sorts behind the cursor, so this walk never reaches it; s:095 is ahead and shows up.
      const expected = [...keys.filter((key) => key !== 's:100'), 's:095'].sort()
      expect(seen).toEqual(expected)
    })

    it('lists the same keys on repeated calls, and pages of one cover non-ASCII keys exactly once', async () => {
      const keys = ['z', 'é', '\uFFFF', '\u{10000}', '😀', '日本', 'a b', 'A']
      await setAll(
        ctx.store,
        keys.map((key) => makeEntry(key)),
      )
      const once = (await listAll(ctx.store, { limit: 1 })).map((item) => item.key)
      const twice = (await listAll(ctx.store, { limit: 1 })).map((item) => item.key)
      expect(once).toEqual(twice)
      expect(sorted(once)).toEqual(sorted(keys))
      // ASCII keys sort as usual whatever the driver's order for the rest.
      expect(once.filter((key) => /^[\x20-\x7e]+$/.test(key))).toEqual(['A', 'a b', 'z'])
    })

    it('caps a page at 1000 items', async () => {
      const count = 1005
      for (let i = 0; i < count; i++) await ctx.store.set(makeEntry(`c:${String(i).padStart(4, '0')}`))
      const page = await ctx.store.list({ prefix: 'c:', limit: 5000 })
      expect(page.items).toHaveLength(1000)
      expect(page.cursor).toBeDefined()
      const next = await ctx.store.list({ prefix: 'c:', limit: 5000, cursor: page.cursor })
      expect(next.items.map((item) => item.key)).toEqual(['c:1000', 'c:1001', 'c:1002', 'c:1003', 'c:1004'])
    })
  })
}
