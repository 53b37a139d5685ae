import type { Entry } from '../../model/entry.js'
import type { InvalidateOptions, ListPage, ListQuery, Selector } from '../store.js'
import { compareKeys, decodeCursor, encodeCursor, prefixRange } from './range.js'
import { type InfoRow, toInfo, toParams } from './rows.js'
import type { Statements } from './statements.js'

/**
 * The bodies of the store's calls, as plain synchronous functions over prepared statements. The
 * store class runs them (inside a transaction where they write more than one row) and maps errors.
 */

const MAX_PAGE = 1000

/** Replaces the entry row and its tag rows; the caller runs it in one transaction. */
export function writeEntry(s: Statements, entry: Entry): void {
  s.deleteTagsOf.run(entry.key)
  s.upsert.run(toParams(entry))
  for (const tag of entry.tags) s.insertTag.run(tag, entry.key)
}

/**
 * Counts live entries only; hard invalidation also drops expired matches, which nobody could see.
 * Several tags are the store's to split into keys (SqliteStore.keysWithTags), so each entry counts once.
 */
export function invalidateRows(
  s: Statements,
  selector: Exclude<Selector, { tags: readonly string[] }>,
  { soft, now }: InvalidateOptions,
): number {
  if ('key' in selector || 'keys' in selector) {
    // A key listed twice is one entry and counts once.
    const keys = 'key' in selector ? [selector.key] : new Set(selector.keys)
    let count = 0
    for (const key of keys) {
      if (soft) count += s.softKey.run({ key, now }).changes
      else {
        const row = s.deleteKey.get(key) as { expires_at: number } | undefined
        if (row !== undefined && row.expires_at > now) count++
      }
    }
    return count
  }
  if ('tag' in selector) {
    const params = { tag: selector.tag, now }
    if (soft) return s.softTag.run(params).changes
    const { n } = s.countTag.get(params) as { n: number }
    s.deleteTag.run({ tag: selector.tag })
    return n
  }
  const range = prefixRange(selector.prefix)
  if (soft) return s.softRange.run({ ...range, now }).changes
  const { n } = s.countRange.get({ ...range, now }) as { n: number }
  s.deleteRange.run(range)
  return n
}

export function listPage(s: Statements, query: ListQuery, now: number): ListPage {
  const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(query.limit) || 1))
  const range = prefixRange(query.prefix ?? '')
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
  // A cursor that sorts below the prefix (taken from some other listing) must not widen the range.
  const resume = after !== undefined && compareKeys(after, range.lower) >= 0
  const tagged = query.tag !== undefined
  const statement = resume ? (tagged ? s.listTagAfter : s.listAfter) : tagged ? s.listTagFirst : s.listFirst
  const params: Record<string, unknown> = {
    lower: resume ? after : range.lower,
    upper: range.upper,
    now,
    // One row beyond the page says whether another page follows, without a count.
    limit: limit + 1,
  }
  if (tagged) params.tag = query.tag
  const rows = statement.all(params) as InfoRow[]
  const more = rows.length > limit
  if (more) rows.length = limit
  const items = rows.map(toInfo)
  return more ? { items, cursor: encodeCursor(items[items.length - 1]!.key) } : { items }
}

export function sweepExpired(s: Statements, now: number, limit: number): number {
  if (!(limit > 0)) return 0
  // SQLite reads a negative LIMIT as "no limit"; an infinite one would not bind as an integer.
  return s.sweep.run(now, Number.isFinite(limit) ? Math.floor(limit) : -1).changes
}
