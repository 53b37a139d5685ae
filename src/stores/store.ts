import type { Entry, EntryInfo } from '../model/entry.js'
import { CisternError } from '../util/errors.js'

/**
 * The store boundary. A store persists entries and indexes them by tag and by key prefix; it knows
 * nothing of freshness policy beyond dropping entries whose `expiresAt` has passed. Every driver
 * (memory, SQLite, later Redis and Postgres) passes the one contract suite in test/stores/contract.ts.
 */

/**
 * Which entries an invalidation or a refresh applies to: one key, several keys, one tag, every entry
 * holding any of several tags, or every key starting with a prefix. Exactly one field is set. This is
 * the one selector type: the engine, the admin API and CLI, webhook actions and the refresh path all
 * speak it, and `parseSelector` is the one reader of it from outside input.
 */
export type Selector =
  | { key: string }
  | { keys: readonly string[] }
  | { tag: string }
  | { tags: readonly string[] }
  | { prefix: string }

/** The selectors a person names with one value (an admin query string, a JSON body, a CLI flag). */
export type SingleSelector = Extract<Selector, { key: string } | { tag: string } | { prefix: string }>

const SINGLE_FIELDS = ['key', 'tag', 'prefix'] as const

/**
 * Exactly one of key, tag or prefix, each a non-empty string; anything else throws a CisternError
 * (E_INVALID_SELECTOR) whose message names the fields as the caller spells them (`spell`: `--key`
 * for the CLI). An empty prefix would select everything by accident; flushing all entries is
 * `prefix=/` (every gateway key starts with the path's slash).
 */
export function parseSelector(
  source: { key?: unknown; tag?: unknown; prefix?: unknown },
  spell: (field: string) => string = (field) => field,
): SingleSelector {
  const given = SINGLE_FIELDS.filter((field) => source[field] !== undefined && source[field] !== null)
  if (given.length !== 1) {
    const [key, tag, prefix] = SINGLE_FIELDS.map(spell)
    throw new CisternError('E_INVALID_SELECTOR', `give exactly one of ${key}, ${tag} or ${prefix}`)
  }
  const field = given[0]!
  const value = source[field]
  if (typeof value !== 'string' || value === '') {
    throw new CisternError(
      'E_INVALID_SELECTOR',
      `${spell(field)} must be a non-empty string (a prefix of / selects every entry)`,
    )
  }
  return field === 'key' ? { key: value } : field === 'tag' ? { tag: value } : { prefix: value }
}

export interface InvalidateOptions {
  /** Soft: mark stale (freshUntil = now) but keep for stale serving. Hard: delete. */
  soft: boolean
  /** The clock the caller uses, so soft purges agree with the engine's notion of now. */
  now: number
}

export interface SetOptions {
  /** The writer's lease fence (Lease.fence); without one a shared store takes a new, newest version. */
  fence?: number
}

export interface ListQuery {
  prefix?: string
  tag?: string
  /** At most this many items per page (stores cap it at 1000). */
  limit: number
  /** Opaque cursor from the previous page; pages are ordered by key. */
  cursor?: string
}

export interface ListPage {
  items: EntryInfo[]
  /** Present when more items may follow. */
  cursor?: string
}

export interface StoreStats {
  entries: number
  /** Sum of value sizes in bytes. */
  bytes: number
}

/** Whether a store can be trusted with reads and writes, and why not. */
export interface StoreHealth {
  ok: boolean
  /** Present when not ok: what is wrong, for /readyz and the logs. */
  reason?: string
}

/** An entry whose value was read as UTF-8 text: `text` is ready, the `value` bytes are made on first read. */
export interface TextEntry extends Entry {
  readonly text: string
}

export interface Store {
  /** Short driver name for errors, logs and metrics: 'memory', 'sqlite', ... */
  readonly name: string
  /** The entry, or undefined when missing or past `expiresAt` (expired entries are never returned). */
  get(key: string, now?: number): Promise<Entry | undefined>
  /**
   * The same read, answered synchronously: offered by stores that live in the process (memory,
   * SQLite). The engine prefers it, which saves a promise and a deadline per read; a synchronous call
   * cannot overrun a deadline anyway. Failures throw a StoreError instead of rejecting.
   */
  getSync?(key: string, now?: number): Entry | undefined
  /**
   * getSync for a caller that decodes the value as text (a JSON codec). Offered where text comes
   * cheaper than bytes: SQLite hands over a string without allocating a Buffer for it.
   */
  getTextSync?(key: string, now?: number): TextEntry | undefined
  /**
   * Insert or replace atomically: a reader sees the whole old entry or the whole new one. A store
   * shared between instances honours `fence` (see coordination.ts, Lease): a write whose fence is
   * older than the stored entry's is dropped, so a lease holder that froze past its lease cannot
   * overwrite a newer value. In-process stores have one writer and ignore it.
   */
  set(entry: Entry, options?: SetOptions): Promise<void>
  /** Delete by key; resolves to how many entries existed. */
  delete(key: string): Promise<boolean>
  /**
   * Invalidate by key(s), tag(s) or prefix, hard or soft; resolves to how many entries were affected
   * (an entry selected twice, by two of its tags or a key listed twice, counts once).
   */
  invalidate(selector: Selector, options: InvalidateOptions): Promise<number>
  /** A page of entry metadata (never values), filtered by prefix or tag, ordered by key. */
  list(query: ListQuery): Promise<ListPage>
  stats(): Promise<StoreStats>
  /**
   * What the store knows is wrong with it beyond single failed calls, when it can tell: a damaged file
   * found at open (SQLite's quick_check), a store that could not be opened at all. Synchronous and cheap.
   */
  health?(): StoreHealth
  /** Drop up to `limit` entries whose expiresAt <= now; resolves to how many were dropped. */
  sweep(now: number, limit: number): Promise<number>
  close(): Promise<void>
}
