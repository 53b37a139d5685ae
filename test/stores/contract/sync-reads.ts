import { describe, expect, it } from 'vitest'
import { entryInfo } from '../../../src/model/entry.js'
import type { TextEntry } from '../../../src/stores/store.js'
import { CisternError } from '../../../src/util/errors.js'
import { type ContractContext, expectSameEntry, fullEntry, HOUR, makeEntry, toBuffer } from './support.js'

/**
 * getSync and getTextSync are optional; a driver that offers them must answer exactly like get().
 * Drivers without them skip these tests (the engine then reads through get()).
 */
export function describeSyncReads(ctx: ContractContext): void {
  describe('synchronous reads (when offered)', () => {
    it('getSync answers like get: whole entries, undefined when missing or expired', async (t) => {
      const getSync = ctx.store.getSync?.bind(ctx.store)
      if (!getSync) return t.skip()
      const now = Date.now()
      const full = fullEntry('full', now)
      const bare = makeEntry('bare', {}, now)
      const expired = makeEntry(
        'expired',
        { freshUntil: now - HOUR, staleUntil: now - HOUR, expiresAt: now },
        now,
      )
      for (const entry of [full, bare, expired]) await ctx.store.set(entry)
      expectSameEntry(getSync('full', now), full)
      expectSameEntry(getSync('bare', now), bare)
      expect(getSync('bare', now)?.etag).toBeUndefined()
      expect(getSync('expired', now)).toBeUndefined()
      expect(await ctx.store.get('expired', now)).toBeUndefined()
      expect(getSync('nobody', now)).toBeUndefined()
    })

    it('getTextSync hands over the value as text, and the same bytes when asked', async (t) => {
      const getTextSync = ctx.store.getTextSync?.bind(ctx.store)
      if (!getTextSync) return t.skip()
      const now = Date.now()
      const json = JSON.stringify({ name: 'Zoë', city: '東京', emoji: '🚀', n: [1, 2.5, null] })
      const { etag, lastModified, tags, meta } = fullEntry('text', now)
      const wanted = makeEntry('text', { etag, lastModified, tags, meta, value: Buffer.from(json) }, now)
      await ctx.store.set(wanted)
      const got = getTextSync('text', now) as TextEntry
      expect(got.text).toBe(json)
      const { text: _text, ...info } = entryInfo(got) as ReturnType<typeof entryInfo> & { text?: string }
      expect(info).toEqual(entryInfo(wanted))
      expect(toBuffer(got.value).equals(Buffer.from(json))).toBe(true)
      // A revalidation copies the entry field by field; its bytes must come along.
      expect(toBuffer({ ...got, value: got.value }.value).equals(Buffer.from(json))).toBe(true)
      expect(getTextSync('nobody', now)).toBeUndefined()
    })

    it('throws a CisternError (never returns stale data) after close', async (t) => {
      const store = ctx.store
      if (!store.getSync) return t.skip()
      await store.set(makeEntry('k'))
      await store.close()
      expect(() => store.getSync!('k')).toThrow(CisternError)
      if (store.getTextSync) expect(() => store.getTextSync!('k')).toThrow(CisternError)
    })
  })
}
