import { createHash } from 'node:crypto'
import { type EntryInfo, entryInfo } from '../../engine/entry.js'
import { rejectAfter } from '../../util/deadline.js'
import type { AdminContext, AdminHandler } from '../context.js'
import { AdminError, parseFlag, parseLimit, parseSelection, sendJson } from '../server/http.js'
import { entryDetail, entrySummary } from './entry-view.js'

const MAX_LIMIT = 1000

/**
 * GET /entries?prefix=&tag=&limit=&cursor=: one page of entry metadata through the store's indexed
 * listing (values are never loaded). The cursor wraps the store's own with a fingerprint of the
 * filter, so a cursor from another listing, or garbage, is a clear 400 rather than a wrong page.
 */
export const listEntries: AdminHandler = async (ctx, { res, url }) => {
  const store = requireStore(ctx.gateway.cache.store)
  const prefix = url.searchParams.get('prefix') ?? undefined
  const tag = url.searchParams.get('tag') ?? undefined
  const limit = parseLimit(url.searchParams.get('limit'), 100, MAX_LIMIT)
  const filter = fingerprint(prefix, tag)
  const raw = url.searchParams.get('cursor')
  const cursor = raw === null || raw === '' ? undefined : decodeCursor(raw, filter)
  const page = await rejectAfter(
    store.list({
      limit,
      ...(prefix !== undefined && prefix !== '' && { prefix }),
      ...(tag !== undefined && tag !== '' && { tag }),
      ...(cursor !== undefined && { cursor }),
    }),
    ctx.config.store.timeout * 5,
  )
  const now = ctx.now()
  const body: EntriesBody = {
    items: page.items.map((item) => entrySummary(item, now)),
    cursor: page.cursor === undefined ? null : encodeCursor(page.cursor, filter),
  }
  sendJson(res, 200, body)
}

/** The body of GET /entries/{key}. */
export type EntryBody = ReturnType<typeof entryDetail> & {
  inMemory: boolean
  nextRefresh: string | null
  /** Why the key's `refresh.while` could not be evaluated at its last refresh; null when it could. */
  whileError: string | null
}

/** The body of GET /entries. */
export interface EntriesBody {
  items: ReturnType<typeof entrySummary>[]
  cursor: string | null
}

/** GET /entries/{key}: one entry's metadata, stored headers, age, tags and next refresh. */
export const getEntry: AdminHandler = async (ctx, { res, param }) => {
  const key = param ?? ''
  if (key === '') throw new AdminError(400, 'invalid_key', 'the key is empty')
  const cache = ctx.gateway.cache
  const store = cache.store
  let entry: EntryInfo | undefined
  if (store) {
    const stored = await rejectAfter(store.get(key, ctx.now()), ctx.config.store.timeout).catch(
      () => undefined,
    )
    if (stored) entry = entryInfo(stored)
  }
  const memory = cache.peekMemory(key)
  entry ??= memory ? entryInfo(memory.entry) : undefined
  if (!entry) throw new AdminError(404, 'entry_not_found', `no entry with key ${JSON.stringify(key)}`)
  const next = await nextRefresh(ctx, key)
  const body: EntryBody = {
    ...entryDetail(entry, ctx.now()),
    inMemory: memory !== undefined,
    nextRefresh: next === undefined ? null : new Date(next).toISOString(),
    whileError: ctx.hooks.whileError?.(key) ?? null,
  }
  sendJson(res, 200, body)
}

/** DELETE /entries?key=|prefix=|tag= (&soft=1 marks stale instead of deleting): `{ count }`. */
export const deleteEntries: AdminHandler = async (ctx, { res, url }) => {
  const params = url.searchParams
  const selection = parseSelection({
    key: params.get('key') ?? undefined,
    tag: params.get('tag') ?? undefined,
    prefix: params.get('prefix') ?? undefined,
  })
  const soft = parseFlag(params.get('soft'), 'soft')
  const count = await ctx.gateway.cache.invalidate(selection, { soft })
  ctx.census.invalidate()
  ctx.logger.info({ selection, soft, count }, 'admin: entries purged')
  sendJson(res, 200, { count, soft })
}

function requireStore<S>(store: S | undefined): S {
  if (!store) throw new AdminError(501, 'no_store', 'this cache has no store to list')
  return store
}

function fingerprint(prefix: string | undefined, tag: string | undefined): string {
  return createHash('sha256')
    .update(`${prefix ?? ''}\u0000${tag ?? ''}`)
    .digest('base64url')
    .slice(0, 12)
}

function encodeCursor(storeCursor: string, filter: string): string {
  return Buffer.from(JSON.stringify({ s: storeCursor, f: filter })).toString('base64url')
}

function decodeCursor(raw: string, filter: string): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
  } catch {
    parsed = undefined
  }
  const candidate = parsed as { s?: unknown; f?: unknown } | undefined
  if (typeof candidate?.s !== 'string' || typeof candidate.f !== 'string') {
    throw new AdminError(400, 'invalid_cursor', 'cursor is not one this API returned')
  }
  if (candidate.f !== filter) {
    throw new AdminError(400, 'invalid_cursor', 'cursor belongs to a listing with another prefix or tag')
  }
  return candidate.s
}

/** The scheduler's answer, or undefined when it has none or fails (the entry view still answers). */
async function nextRefresh(ctx: AdminContext, key: string): Promise<number | undefined> {
  try {
    return ctx.hooks.nextRefresh ? await ctx.hooks.nextRefresh(key) : undefined
  } catch {
    return undefined
  }
}
