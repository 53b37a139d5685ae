import { createHash } from 'node:crypto'
import { expect } from 'vitest'
import { type Entry, type EntryInfo, entryInfo } from '../../../src/model/entry.js'
import type { ListQuery, Store } from '../../../src/stores/store.js'

/** What a driver's test file hands the contract: a fresh, empty store and how to dispose of it. */
export interface StoreHarness {
  store: Store
  /** Opens the same data again after `store` was closed; drivers that persist provide it. */
  reopen?: () => Promise<Store>
  cleanup: () => Promise<void>
}

export type MakeStore = () => Promise<StoreHarness>

/** The store under test in the current `it`, set up and torn down by runStoreContract's hooks. */
export interface ContractContext {
  readonly store: Store
  /** undefined when the driver does not persist across close(). */
  readonly reopen: (() => Promise<Store>) | undefined
}

export const SECOND = 1000
export const HOUR = 3_600_000
export const DAY = 24 * HOUR

export function digestOf(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('base64url')
}

/**
 * A consistent entry (digest and size match the value) fresh for an hour after `now`, servable
 * stale for a day, kept two days. `now` defaults to the wall clock because list() and delete() take
 * no clock of their own.
 */
export function makeEntry(key: string, fields: Partial<Entry> = {}, now = Date.now()): Entry {
  const value = fields.value ?? Buffer.from(JSON.stringify({ key }), 'utf8')
  return {
    key,
    value,
    storedAt: now,
    fetchedAt: now - SECOND,
    freshUntil: now + HOUR,
    staleUntil: now + DAY,
    expiresAt: now + 2 * DAY,
    digest: digestOf(value),
    tags: [],
    size: value.byteLength,
    ...fields,
  }
}

/** Every field set, including nested meta, so a round trip that drops or mangles one shows. */
export function fullEntry(key: string, now = Date.now()): Entry {
  return makeEntry(
    key,
    {
      etag: 'W/"abc-123"',
      lastModified: 'Tue, 15 Nov 1994 12:45:26 GMT',
      tags: ['teams', 'season:2024', 'ünïcode tag'],
      meta: {
        status: 200,
        headers: { 'content-type': 'application/json', vary: ['accept', 'accept-encoding'] },
        nested: { a: null, b: true, c: 1.5, d: 'x' },
      },
    },
    now,
  )
}

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function expectSameEntry(got: Entry | undefined, want: Entry): void {
  expect(got, `entry ${JSON.stringify(want.key)}`).toBeDefined()
  expect(entryInfo(got!)).toEqual(entryInfo(want))
  expect(got!.value).toBeInstanceOf(Uint8Array)
  expect(toBuffer(got!.value).equals(toBuffer(want.value)), `value of ${JSON.stringify(want.key)}`).toBe(true)
}

/** Follows cursors to the end; fails rather than loops if a store keeps returning cursors. */
export async function listAll(store: Store, query: Omit<ListQuery, 'cursor'>): Promise<EntryInfo[]> {
  const items: EntryInfo[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.list(cursor === undefined ? query : { ...query, cursor })
    expect(page.items.length).toBeLessThanOrEqual(query.limit)
    items.push(...page.items)
    cursor = page.cursor
    if (cursor === undefined) return items
  }
  throw new Error('list() kept returning cursors')
}

export async function listKeys(store: Store, query: Omit<ListQuery, 'cursor' | 'limit'>): Promise<string[]> {
  return (await listAll(store, { ...query, limit: 1000 })).map((item) => item.key)
}

/** Order-insensitive comparison for key sets whose order is driver-defined (non-ASCII keys). */
export function sorted(keys: readonly string[]): string[] {
  return [...keys].sort()
}

export async function setAll(store: Store, entries: readonly Entry[]): Promise<void> {
  for (const entry of entries) await store.set(entry)
}
