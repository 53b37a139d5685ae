import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Entry } from '../../../src/model/entry.js'
import { softPurge } from '../../../src/model/soft-purge.js'
import type { Selector } from '../../../src/stores/store.js'
import {
  type ContractContext,
  DAY,
  expectSameEntry,
  HOUR,
  listKeys,
  makeEntry,
  SECOND,
  setAll,
  sorted,
} from './support.js'

/**
 * One selector of each kind. All match 'sel:a' and 'sel:b' except `key`, which matches 'sel:a' only;
 * `keys` also names a missing key and names 'sel:a' twice, which must still count once; `tags` names
 * two tags both entries hold and one nobody holds, and each entry must still count once.
 */
const SELECTORS: [string, Selector][] = [
  ['key', { key: 'sel:a' }],
  ['keys', { keys: ['sel:a', 'sel:b', 'sel:missing', 'sel:a'] }],
  ['tag', { tag: 'chosen' }],
  ['tags', { tags: ['chosen', 'nobody', 'picked'] }],
  ['prefix', { prefix: 'sel:' }],
]

/** Keys chosen to break LIKE patterns, naive UTF-16 upper bounds and byte-vs-code-unit order. */
const TRICKY_KEYS = [
  'a%b',
  'axb',
  'a_c',
  'abc',
  'a\\d',
  'a[x]',
  "a'q",
  'é1',
  'é2',
  'e1',
  'f',
  '😀a',
  '😀b',
  '😁',
  '\uFFFF',
  '\uFFFFx',
  '\uFFFE',
  '\uE000',
  '\u{1F3FF}a',
  '\u{1F3FF}b',
  '\u{1F400}',
  '\u{10000}',
  '\u{10FFFF}x',
  '日本:1',
  '日本:2',
  '日本語',
]
const TRICKY_PREFIXES = [
  '',
  'a%',
  'a_',
  'a\\',
  'a[',
  "a'",
  'é',
  'e',
  '😀',
  '\uFFFF',
  '\uFFFE',
  '\u{1F3FF}',
  '\u{10FFFF}',
  '日本',
  '日本:',
  '\uE000',
  'zzz',
]

export function describeInvalidation(ctx: ContractContext): void {
  describe('invalidate', () => {
    for (const [kind, selector] of SELECTORS) {
      const expected = kind === 'key' ? 1 : 2

      it(`hard by ${kind} deletes the matching entries and counts them`, async () => {
        const now = Date.now()
        await seedSelection(ctx, now)
        expect(await ctx.store.invalidate(selector, { soft: false, now })).toBe(expected)
        expect(await ctx.store.get('sel:a', now)).toBeUndefined()
        expect((await ctx.store.get('sel:b', now)) === undefined).toBe(expected === 2)
        expect(await ctx.store.get('other:c', now)).toBeDefined()
        expect(await ctx.store.invalidate(selector, { soft: false, now })).toBe(0)
      })

      it(`soft by ${kind} ends freshness now but keeps the entries servable`, async () => {
        const now = Date.now()
        const [fresh, stale, other] = await seedSelection(ctx, now)
        expect(await ctx.store.invalidate(selector, { soft: true, now })).toBe(expected)
        // Fresh: freshUntil drops to now; the stale window and expiry stay as they were.
        const gotFresh = await ctx.store.get('sel:a', now)
        expectSameEntry(gotFresh, softPurge(fresh, now))
        expect(gotFresh?.freshUntil).toBe(now)
        expect(gotFresh?.staleUntil).toBe(fresh.staleUntil)
        expect(gotFresh?.expiresAt).toBe(fresh.expiresAt)
        // Already stale: freshUntil was in the past and is not moved.
        expectSameEntry(await ctx.store.get('sel:b', now), expected === 2 ? softPurge(stale, now) : stale)
        expect((await ctx.store.get('sel:b', now))?.freshUntil).toBe(stale.freshUntil)
        expectSameEntry(await ctx.store.get('other:c', now), other)
        // Soft purging keeps the entry in the tag index.
        expect(await listKeys(ctx.store, { tag: 'chosen' })).toContain('sel:a')
      })
    }

    it('soft purge of an entry past its stale window follows softPurge and does not revive it', async () => {
      const now = Date.now()
      const entry = makeEntry('late', {
        freshUntil: now - 2 * HOUR,
        staleUntil: now - HOUR,
        expiresAt: now + HOUR,
      })
      await ctx.store.set(entry)
      expect(await ctx.store.invalidate({ key: 'late' }, { soft: true, now })).toBe(1)
      expectSameEntry(await ctx.store.get('late', now), softPurge(entry, now))
    })

    it('counts only live entries: expired ones are neither counted nor revived', async () => {
      const now = Date.now()
      const dead = { freshUntil: now - 3 * SECOND, staleUntil: now - 2 * SECOND, expiresAt: now - SECOND }
      await setAll(ctx.store, [
        makeEntry('x:live', { tags: ['t'] }),
        makeEntry('x:dead', { ...dead, tags: ['t'] }),
        makeEntry('x:edge', { expiresAt: now, tags: ['t'] }),
      ])
      for (const selector of [{ tag: 't' }, { prefix: 'x:' }, { keys: ['x:live', 'x:dead', 'x:edge'] }]) {
        expect(await ctx.store.invalidate(selector, { soft: true, now })).toBe(1)
      }
      expect(await ctx.store.invalidate({ key: 'x:dead' }, { soft: true, now })).toBe(0)
      expect(await ctx.store.get('x:dead', now)).toBeUndefined()
      expect(await ctx.store.get('x:edge', now)).toBeUndefined()
      expect(await ctx.store.invalidate({ prefix: 'x:' }, { soft: false, now })).toBe(1)
    })

    it('an empty keys list or an unknown tag affects nothing', async () => {
      const now = Date.now()
      await ctx.store.set(makeEntry('k', { tags: ['t'] }))
      expect(await ctx.store.invalidate({ keys: [] }, { soft: false, now })).toBe(0)
      expect(await ctx.store.invalidate({ tag: 'nope' }, { soft: false, now })).toBe(0)
      expect(await ctx.store.invalidate({ tag: '' }, { soft: false, now })).toBe(0)
      expect(await ctx.store.get('k')).toBeDefined()
    })

    it('the empty prefix selects every entry', async () => {
      const now = Date.now()
      await setAll(
        ctx.store,
        TRICKY_KEYS.map((key) => makeEntry(key)),
      )
      expect(await ctx.store.invalidate({ prefix: '' }, { soft: true, now })).toBe(TRICKY_KEYS.length)
      expect(await ctx.store.invalidate({ prefix: '' }, { soft: false, now })).toBe(TRICKY_KEYS.length)
      expect(await ctx.store.stats()).toEqual({ entries: 0, bytes: 0 })
    })
  })

  describe('tags', () => {
    it('set replaces the tags: old tags stop matching, new ones match', async () => {
      const now = Date.now()
      await ctx.store.set(makeEntry('k', { tags: ['a', 'b'] }))
      await ctx.store.set(makeEntry('k', { tags: ['b', 'c'] }))
      expect(await listKeys(ctx.store, { tag: 'a' })).toEqual([])
      expect(await listKeys(ctx.store, { tag: 'c' })).toEqual(['k'])
      expect(await ctx.store.invalidate({ tag: 'a' }, { soft: false, now })).toBe(0)
      expect(await ctx.store.get('k')).toBeDefined()
      expect(await ctx.store.invalidate({ tag: 'b' }, { soft: false, now })).toBe(1)
    })

    it('a deleted entry leaves no tag behind for a later entry to inherit', async () => {
      const now = Date.now()
      await ctx.store.set(makeEntry('k', { tags: ['old'] }))
      await ctx.store.delete('k')
      await ctx.store.set(makeEntry('k', { tags: [] }))
      expect(await listKeys(ctx.store, { tag: 'old' })).toEqual([])
      expect(await ctx.store.invalidate({ tag: 'old' }, { soft: false, now })).toBe(0)
    })

    it('tags are exact strings: no prefix, case or pattern matching', async () => {
      await setAll(ctx.store, [
        makeEntry('1', { tags: ['team'] }),
        makeEntry('2', { tags: ['teams'] }),
        makeEntry('3', { tags: ['Team'] }),
        makeEntry('4', { tags: ['te%m', 'ü'] }),
        makeEntry('5', { tags: ['team', 'team'] }),
      ])
      expect(await listKeys(ctx.store, { tag: 'team' })).toEqual(['1', '5'])
      expect(await listKeys(ctx.store, { tag: 'te%m' })).toEqual(['4'])
      expect(await listKeys(ctx.store, { tag: 'te_m' })).toEqual([])
      expect(await listKeys(ctx.store, { tag: 'ü' })).toEqual(['4'])
      expect(await ctx.store.invalidate({ tag: 'team' }, { soft: true, now: Date.now() })).toBe(2)
    })
  })

  describe('prefixes', () => {
    it('match literally, with LIKE metacharacters and non-ASCII text', async () => {
      const now = Date.now()
      await setAll(
        ctx.store,
        TRICKY_KEYS.map((key) => makeEntry(key)),
      )
      for (const prefix of TRICKY_PREFIXES) {
        const expected = sorted(TRICKY_KEYS.filter((key) => key.startsWith(prefix)))
        expect(
          sorted(await listKeys(ctx.store, { prefix })),
          `list prefix ${JSON.stringify(prefix)}`,
        ).toEqual(expected)
        const count = await ctx.store.invalidate({ prefix }, { soft: true, now })
        expect(count, `soft invalidate prefix ${JSON.stringify(prefix)}`).toBe(expected.length)
      }
    })

    it('hard invalidation by a non-ASCII prefix deletes exactly the keys that start with it', async () => {
      const now = Date.now()
      await setAll(
        ctx.store,
        TRICKY_KEYS.map((key) => makeEntry(key)),
      )
      for (const prefix of ['\u{1F3FF}', '\uFFFF', 'é', 'a%']) {
        const expected = TRICKY_KEYS.filter((key) => key.startsWith(prefix))
        expect(await ctx.store.invalidate({ prefix }, { soft: false, now }), prefix).toBe(expected.length)
      }
      const left = TRICKY_KEYS.filter(
        (key) => !['\u{1F3FF}', '\uFFFF', 'é', 'a%'].some((p) => key.startsWith(p)),
      )
      expect(sorted(await listKeys(ctx.store, {}))).toEqual(sorted(left))
    })

    it('agree with String.startsWith for arbitrary keys and prefixes', async () => {
      const alphabet = fc.constantFrom(
        'a',
        'b',
        '%',
        '_',
        'é',
        '\uFFFF',
        '\uE000',
        '😀',
        '\u{1F3FF}',
        '\u{10FFFF}',
      )
      const text = (min: number, max: number) =>
        fc.array(alphabet, { minLength: min, maxLength: max }).map((chars) => chars.join(''))
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(text(1, 4), { minLength: 1, maxLength: 12 }),
          text(0, 3),
          async (keys, prefix) => {
            const now = Date.now()
            await ctx.store.invalidate({ prefix: '' }, { soft: false, now })
            await setAll(
              ctx.store,
              keys.map((key) => makeEntry(key, { tags: ['p'] })),
            )
            const expected = sorted(keys.filter((key) => key.startsWith(prefix)))
            expect(sorted(await listKeys(ctx.store, { prefix }))).toEqual(expected)
            expect(sorted(await listKeys(ctx.store, { prefix, tag: 'p' }))).toEqual(expected)
            expect(await ctx.store.invalidate({ prefix }, { soft: false, now })).toBe(expected.length)
          },
        ),
        { numRuns: 40 },
      )
    })
  })
}

/** sel:a fresh and tagged, sel:b already stale and tagged, other:c untouched by every selector. */
async function seedSelection(ctx: ContractContext, now: number): Promise<[Entry, Entry, Entry]> {
  const entries: [Entry, Entry, Entry] = [
    makeEntry('sel:a', { tags: ['chosen', 'x', 'picked'] }, now),
    makeEntry('sel:b', { tags: ['chosen', 'picked'], freshUntil: now - SECOND, staleUntil: now + HOUR }, now),
    makeEntry('other:c', { tags: ['x'], freshUntil: now + DAY, staleUntil: now + 2 * DAY }, now),
  ]
  await setAll(ctx.store, entries)
  return entries
}
