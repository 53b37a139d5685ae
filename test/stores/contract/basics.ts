import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Store } from '../../../src/stores/store.js'
import { CisternError } from '../../../src/util/errors.js'
import {
  type ContractContext,
  DAY,
  digestOf,
  expectSameEntry,
  fullEntry,
  listKeys,
  makeEntry,
  toBuffer,
} from './support.js'

export function describeBasics(ctx: ContractContext): void {
  describe('get / set / delete', () => {
    it('round-trips every Entry field', async () => {
      const entry = fullEntry('team:1')
      await ctx.store.set(entry)
      expectSameEntry(await ctx.store.get('team:1'), entry)
    })

    it('round-trips an entry without optional fields, leaving them undefined', async () => {
      const entry = makeEntry('bare')
      await ctx.store.set(entry)
      const got = await ctx.store.get('bare')
      expectSameEntry(got, entry)
      expect(got?.etag).toBeUndefined()
      expect(got?.lastModified).toBeUndefined()
      expect(got?.meta).toBeUndefined()
    })

    it('answers undefined for a missing key', async () => {
      expect(await ctx.store.get('nobody')).toBeUndefined()
    })

    it('replaces the whole entry on set', async () => {
      await ctx.store.set(fullEntry('k'))
      const next = makeEntry('k', { value: Buffer.from('second'), tags: ['other'] })
      await ctx.store.set(next)
      expectSameEntry(await ctx.store.get('k'), next)
    })

    it('delete says whether the entry existed', async () => {
      await ctx.store.set(makeEntry('k'))
      expect(await ctx.store.delete('k')).toBe(true)
      expect(await ctx.store.get('k')).toBeUndefined()
      expect(await ctx.store.delete('k')).toBe(false)
      expect(await ctx.store.delete('never')).toBe(false)
    })

    it('keeps keys that differ only in case or trailing bytes apart', async () => {
      const keys = ['k', 'K', 'k ', 'k\t', 'kk']
      for (const key of keys) await ctx.store.set(makeEntry(key))
      for (const key of keys) expect((await ctx.store.get(key))?.key).toBe(key)
    })
  })

  describe('expiry', () => {
    it('treats expiresAt == now as expired and now - 1 as alive', async () => {
      const now = Date.now()
      const entry = makeEntry('ttl', { expiresAt: now + 5000 }, now)
      await ctx.store.set(entry)
      expectSameEntry(await ctx.store.get('ttl', entry.expiresAt - 1), entry)
      expect(await ctx.store.get('ttl', entry.expiresAt)).toBeUndefined()
      expect(await ctx.store.get('ttl', entry.expiresAt + DAY)).toBeUndefined()
    })

    it('uses the wall clock when get() is given no time', async () => {
      const now = Date.now()
      await ctx.store.set(makeEntry('past', { freshUntil: now - 3, staleUntil: now - 2, expiresAt: now - 1 }))
      await ctx.store.set(makeEntry('future'))
      expect(await ctx.store.get('past')).toBeUndefined()
      expect(await ctx.store.get('future')).toBeDefined()
    })

    it('serves stale and past-stale entries until expiresAt: freshness is policy, not the store', async () => {
      const now = Date.now()
      const entry = makeEntry('old', {
        freshUntil: now - 2 * DAY,
        staleUntil: now - DAY,
        expiresAt: now + DAY,
      })
      await ctx.store.set(entry)
      expectSameEntry(await ctx.store.get('old', now), entry)
    })
  })

  describe('values', () => {
    it('round-trips all 256 byte values', async () => {
      const value = new Uint8Array(512)
      for (let i = 0; i < value.length; i++) value[i] = i % 256
      const entry = makeEntry('bytes', { value, digest: digestOf(value), size: value.length })
      await ctx.store.set(entry)
      expectSameEntry(await ctx.store.get('bytes'), entry)
    })

    it('round-trips an empty value', async () => {
      const value = new Uint8Array(0)
      const entry = makeEntry('empty', { value, digest: digestOf(value), size: 0 })
      await ctx.store.set(entry)
      const got = await ctx.store.get('empty')
      expectSameEntry(got, entry)
      expect(got?.value.byteLength).toBe(0)
    })

    it('stores a copy: changing the caller’s buffer after set() changes nothing', async () => {
      const value = Buffer.from('original')
      const entry = makeEntry('copy', { value })
      await ctx.store.set(entry)
      value.write('mutated!')
      expect(toBuffer((await ctx.store.get('copy'))!.value).toString()).toBe('original')
    })

    it('round-trips a value of 5 MB and more', async () => {
      const value = randomBytes(5 * 1024 * 1024 + 17)
      const entry = makeEntry('big', { value, digest: digestOf(value), size: value.length, tags: ['big'] })
      await ctx.store.set(entry)
      const got = await ctx.store.get('big')
      expectSameEntry(got, entry)
      expect(digestOf(got!.value)).toBe(entry.digest)
    })

    it('accepts a Uint8Array view into a larger buffer and stores only the view', async () => {
      const backing = Buffer.from('xxxxHELLOxxxx')
      const value = new Uint8Array(backing.buffer, backing.byteOffset + 4, 5)
      const entry = makeEntry('view', { value, digest: digestOf(value), size: 5 })
      await ctx.store.set(entry)
      expect(toBuffer((await ctx.store.get('view'))!.value).toString()).toBe('HELLO')
    })
  })

  describe('stats', () => {
    it('counts entries and value bytes through set, replace and delete', async () => {
      expect(await ctx.store.stats()).toEqual({ entries: 0, bytes: 0 })
      await ctx.store.set(makeEntry('a', { value: Buffer.alloc(100) }))
      await ctx.store.set(makeEntry('b', { value: Buffer.alloc(250) }))
      expect(await ctx.store.stats()).toEqual({ entries: 2, bytes: 350 })
      await ctx.store.set(makeEntry('a', { value: Buffer.alloc(10) }))
      expect(await ctx.store.stats()).toEqual({ entries: 2, bytes: 260 })
      await ctx.store.delete('b')
      expect(await ctx.store.stats()).toEqual({ entries: 1, bytes: 10 })
      await ctx.store.invalidate({ prefix: '' }, { soft: false, now: Date.now() })
      expect(await ctx.store.stats()).toEqual({ entries: 0, bytes: 0 })
    })
  })

  describe('lifecycle', () => {
    it('keeps entries, tags and stats across close and reopen', async (t) => {
      if (ctx.reopen === undefined) t.skip()
      const entries = [fullEntry('p:1'), fullEntry('p:2'), makeEntry('q:1', { tags: ['q'] })]
      for (const entry of entries) await ctx.store.set(entry)
      const before = await ctx.store.stats()
      await ctx.store.close()
      const reopened = await ctx.reopen!()
      for (const entry of entries) expectSameEntry(await reopened.get(entry.key), entry)
      expect(await reopened.stats()).toEqual(before)
      expect(await listKeys(reopened, { tag: 'teams' })).toEqual(['p:1', 'p:2'])
      expect(await listKeys(reopened, { prefix: 'q:' })).toEqual(['q:1'])
    })

    it('close() is idempotent and every call after it rejects with E_CLOSED', async () => {
      const store = ctx.store
      await store.set(makeEntry('k'))
      await store.close()
      await store.close()
      const calls: [string, (s: Store) => Promise<unknown>][] = [
        ['get', (s) => s.get('k')],
        ['set', (s) => s.set(makeEntry('k'))],
        ['delete', (s) => s.delete('k')],
        ['invalidate', (s) => s.invalidate({ key: 'k' }, { soft: true, now: Date.now() })],
        ['list', (s) => s.list({ limit: 10 })],
        ['stats', (s) => s.stats()],
        ['sweep', (s) => s.sweep(Date.now(), 10)],
      ]
      for (const [name, call] of calls) {
        const error = await call(store).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error, name).toBeInstanceOf(CisternError)
        expect((error as CisternError).code, name).toBe('E_CLOSED')
      }
    })
  })
}
