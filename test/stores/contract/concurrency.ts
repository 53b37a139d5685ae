import { describe, expect, it } from 'vitest'
import type { Entry } from '../../../src/model/entry.js'
import {
  type ContractContext,
  digestOf,
  HOUR,
  listKeys,
  makeEntry,
  SECOND,
  setAll,
  toBuffer,
} from './support.js'

const KEYS = Array.from({ length: 8 }, (_, i) => `race:${i}`)
const WRITERS = 48
/** Fixed so that writerEntry(w) is the same entry every time it is built. */
const BASE = Date.now()

/**
 * Writer w writes KEYS[w % KEYS.length] with every field derived from w (value, size, digest, etag,
 * meta, tags). Any entry that mixes two writes therefore contradicts itself, whichever fields mix.
 */
function writerEntry(w: number): Entry {
  const key = KEYS[w % KEYS.length]!
  const value = Buffer.alloc(200 + w * 53, `${key}|w${w}|`)
  return makeEntry(
    key,
    {
      value,
      size: value.length,
      digest: digestOf(value),
      etag: `"w${w}"`,
      meta: { writer: w },
      tags: [`writer:${w}`, 'race'],
      fetchedAt: BASE - w * SECOND,
    },
    BASE,
  )
}

/**
 * The writer a stored entry came from, after checking that all its fields agree on it. The freshness
 * windows are left out because a racing soft invalidation may legitimately have moved them.
 */
function writerOf(entry: Entry): number {
  const w = (entry.meta as { writer: number }).writer
  const want = writerEntry(w)
  expect(toBuffer(entry.value).equals(toBuffer(want.value)), `value of ${entry.key}`).toBe(true)
  const fields = ({ key, size, digest, etag, tags, meta, storedAt, fetchedAt }: Entry) => ({
    key,
    size,
    digest,
    etag,
    tags,
    meta,
    storedAt,
    fetchedAt,
  })
  expect(fields(entry)).toEqual(fields(want))
  return w
}

export function describeConcurrency(ctx: ContractContext): void {
  describe('concurrent callers', () => {
    it('parallel sets and gets on overlapping keys never show a mixed entry', async () => {
      const ops: Promise<unknown>[] = []
      const seen: Entry[] = []
      for (let round = 0; round < 3; round++) {
        for (let w = 0; w < WRITERS; w++) {
          ops.push(ctx.store.set(writerEntry(w)))
          ops.push(
            ctx.store.get(KEYS[(w * 7) % KEYS.length]!).then((entry) => {
              if (entry !== undefined) seen.push(entry)
            }),
          )
        }
      }
      await Promise.all(ops)
      for (const entry of seen) writerOf(entry)

      const finalWriter = new Map<string, number>()
      for (const key of KEYS) {
        const entry = await ctx.store.get(key)
        expect(entry, key).toBeDefined()
        const w = writerOf(entry!)
        expect(w % KEYS.length).toBe(KEYS.indexOf(key))
        finalWriter.set(key, w)
      }
      // The tag index agrees with the rows: each writer's tag finds exactly the keys it won.
      for (let w = 0; w < WRITERS; w++) {
        const won = KEYS.filter((key) => finalWriter.get(key) === w)
        expect(await listKeys(ctx.store, { tag: `writer:${w}` }), `writer:${w}`).toEqual(won)
      }
      expect(await listKeys(ctx.store, { tag: 'race' })).toEqual(KEYS)
      expect((await ctx.store.stats()).entries).toBe(KEYS.length)
    })

    it('the last of a caller’s awaited writes to a key wins', async () => {
      await Promise.all(
        KEYS.map(async (_, i) => {
          for (const w of [i, i + KEYS.length, i + 2 * KEYS.length]) await ctx.store.set(writerEntry(w))
        }),
      )
      for (const [i, key] of KEYS.entries()) {
        expect(writerOf((await ctx.store.get(key))!)).toBe(i + 2 * KEYS.length)
      }
    })

    it('invalidations racing with writes leave every entry whole', async () => {
      const now = Date.now()
      const ops: Promise<unknown>[] = []
      for (let w = 0; w < WRITERS; w++) {
        ops.push(ctx.store.set(writerEntry(w)))
        if (w % 5 === 0) ops.push(ctx.store.invalidate({ tag: `writer:${w - 5}` }, { soft: false, now }))
        if (w % 7 === 0) ops.push(ctx.store.invalidate({ prefix: 'race:' }, { soft: true, now }))
      }
      await Promise.all(ops)
      for (const key of KEYS) {
        const entry = await ctx.store.get(key, now)
        if (entry !== undefined) writerOf(entry)
      }
    })
  })

  describe('sweep', () => {
    it('drops expired entries in bounded batches and leaves live ones', async () => {
      const now = Date.now()
      const expired = Array.from({ length: 10 }, (_, i) =>
        makeEntry(`old:${i}`, {
          freshUntil: now - 100,
          staleUntil: now - 50,
          expiresAt: now - i,
          tags: ['t'],
        }),
      )
      const live = Array.from({ length: 3 }, (_, i) =>
        makeEntry(`new:${i}`, { expiresAt: now + HOUR, tags: ['t'] }),
      )
      await setAll(ctx.store, [...expired, ...live])

      expect(await ctx.store.sweep(now, 4)).toBe(4)
      expect(await ctx.store.sweep(now, 4)).toBe(4)
      expect(await ctx.store.sweep(now, 4)).toBe(2)
      expect(await ctx.store.sweep(now, 4)).toBe(0)
      expect(await ctx.store.sweep(now, 0)).toBe(0)
      expect(await ctx.store.stats()).toEqual({ entries: 3, bytes: live.reduce((sum, e) => sum + e.size, 0) })
      for (const entry of live) expect(await ctx.store.get(entry.key, now)).toBeDefined()
      expect(await listKeys(ctx.store, { tag: 't' })).toEqual(live.map((entry) => entry.key))
      // A later clock expires the rest.
      expect(await ctx.store.sweep(now + HOUR, 100)).toBe(3)
      expect(await ctx.store.stats()).toEqual({ entries: 0, bytes: 0 })
    })

    it('an entry written again after expiry is not swept by an earlier clock', async () => {
      const now = Date.now()
      await ctx.store.set(makeEntry('k', { expiresAt: now - 1 }))
      await ctx.store.set(makeEntry('k', { expiresAt: now + 1000 * SECOND }))
      expect(await ctx.store.sweep(now, 10)).toBe(0)
      expect(await ctx.store.get('k', now)).toBeDefined()
    })

    it('an empty store sweeps nothing', async () => {
      await setAll(ctx.store, [])
      expect(await ctx.store.sweep(Date.now(), 100)).toBe(0)
    })
  })
}
