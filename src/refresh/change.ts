import { randomBytes } from 'node:crypto'
import type { CompiledExpression } from '../config/cel.js'
import type { RouteConfig } from '../config/types.js'
import { parseJsonBody } from '../util/json-body.js'
import { asItemId, diffItemMaps, type ItemDiff, jsonPatch } from './diff.js'
import type { Seen } from './schedule-store.js'
import type { ChangeEvent, ItemId } from './types.js'

/** A body as JSON, or undefined (not kept, or not JSON). */
export const parseBody: (body: Buffer | null) => unknown = parseJsonBody

/** Unique, and sortable by time for people reading logs: `evt_` + ms in base 36 + 80 random bits. */
export function newEventId(now: number): string {
  return `evt_${now.toString(36).padStart(9, '0')}${randomBytes(10).toString('hex')}`
}

export interface ChangeInput {
  route: RouteConfig
  params: Record<string, string>
  key: string
  url: string
  previous: Seen
  next: Seen
  tags: string[]
  now: number
}

/** A detected change with what the follow-up work (invalidation, warming) needs. */
export interface DetectedChange {
  event: ChangeEvent
  previousBody: unknown
  nextBody: unknown
  /** Items by id, when `changes.items` applies: the previous and the new list. */
  items?: { previous: Map<ItemId, unknown>; next: Map<ItemId, unknown> }
}

/**
 * Describe a change between two versions whose digests differ. With `changes.items` and `id`, the
 * diff is item by item; if that cannot be evaluated (a body that is not JSON, a CEL error), the
 * change is reported whole-body rather than dropped.
 */
export function detectChange(input: ChangeInput): DetectedChange {
  const { route, params, previous, next, now } = input
  const previousBody = parseBody(previous.body)
  const nextBody = parseBody(next.body)
  let diff: ItemDiff = { added: [], removed: [], changed: [] }
  let items: DetectedChange['items']
  const changes = route.changes
  if (changes?.items && changes.id && previousBody !== undefined && nextBody !== undefined) {
    try {
      const previousItems = itemsOf(changes.items, changes.id, previousBody, params, previous, now)
      const nextItems = itemsOf(changes.items, changes.id, nextBody, params, next, now)
      diff = diffItemMaps(previousItems, nextItems)
      items = { previous: previousItems, next: nextItems }
    } catch {
      items = undefined
    }
  }
  const patch =
    previousBody !== undefined && nextBody !== undefined ? jsonPatch(previousBody, nextBody) : null
  const event: ChangeEvent = {
    id: newEventId(now),
    route: route.name,
    key: input.key,
    url: input.url,
    at: next.fetchedAt,
    previousFetchedAt: previous.fetchedAt,
    digest: next.digest,
    previousDigest: previous.digest,
    ...diff,
    patch,
    tags: input.tags,
  }
  return { event, previousBody, nextBody, ...(items && { items }) }
}

/** The list's items keyed by id (first occurrence wins), via the route's CEL `items` and `id`. */
function itemsOf(
  list: CompiledExpression,
  id: CompiledExpression,
  body: unknown,
  params: Record<string, string>,
  seen: Seen,
  now: number,
): Map<ItemId, unknown> {
  const out = new Map<ItemId, unknown>()
  for (const item of list.list({ body, params, headers: seen.headers, now })) {
    const value = asItemId(id.evaluate({ item, body, params, headers: seen.headers, now }))
    if (value !== undefined && !out.has(value)) out.set(value, item)
  }
  return out
}

/**
 * The tags `changes.invalidates` names for a change: templates over params and body are rendered
 * once; templates over `item` once per added or changed item (from the new body) and per removed
 * item (from the previous one).
 */
export function invalidationTags(route: RouteConfig, params: Record<string, string>, change: DetectedChange) {
  const tags = new Set<string>()
  const base = { ...params, params, body: change.nextBody }
  const { event, items } = change
  for (const template of route.changes?.invalidates ?? []) {
    if (!template.refs.some((ref) => ref.path[0] === 'item')) {
      const tag = template.render(base)
      if (tag !== undefined) tags.add(tag)
      continue
    }
    if (!items) continue
    const affected: unknown[] = [
      ...[...event.added, ...event.changed].map((id) => items.next.get(id)),
      ...event.removed.map((id) => items.previous.get(id)),
    ]
    for (const item of affected) {
      const tag = template.render({ ...base, item })
      if (tag !== undefined) tags.add(tag)
    }
  }
  return [...tags]
}
