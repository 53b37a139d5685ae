import jsonpatch from 'fast-json-patch'
import type { ItemId, PatchOperation } from './types.js'

export interface ItemDiff {
  /** Ids only in the new list, in its order. */
  added: ItemId[]
  /** Ids only in the previous list, in its order. */
  removed: ItemId[]
  /** Ids in both whose item is not deeply equal, in the new list's order. */
  changed: ItemId[]
}

/** A scalar id as CEL produced it; anything else (null, maps, lists) is not an id. */
export function asItemId(value: unknown): ItemId | undefined {
  if (typeof value === 'string' || typeof value === 'number') return value
  if (typeof value === 'boolean') return String(value)
  return undefined
}

/** Items keyed by id (a Map keeps 1 and "1" apart). Items without an id cannot be followed; a repeated id keeps its first item. */
export function indexItems(
  items: readonly unknown[],
  idOf: (item: unknown) => ItemId | undefined,
): Map<ItemId, unknown> {
  const byId = new Map<ItemId, unknown>()
  for (const item of items) {
    const id = idOf(item)
    if (id !== undefined && !byId.has(id)) byId.set(id, item)
  }
  return byId
}

/** Added, removed and changed ids between two lists of items. */
export function diffItems(
  previous: readonly unknown[],
  next: readonly unknown[],
  idOf: (item: unknown) => ItemId | undefined,
): ItemDiff {
  return diffItemMaps(indexItems(previous, idOf), indexItems(next, idOf))
}

export function diffItemMaps(
  before: ReadonlyMap<ItemId, unknown>,
  after: ReadonlyMap<ItemId, unknown>,
): ItemDiff {
  const diff: ItemDiff = { added: [], removed: [], changed: [] }
  for (const [id, item] of after) {
    if (!before.has(id)) diff.added.push(id)
    else if (!jsonEqual(before.get(id), item)) diff.changed.push(id)
  }
  for (const id of before.keys()) if (!after.has(id)) diff.removed.push(id)
  return diff
}

/** Deep equality of JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((value, i) => jsonEqual(value, b[i]))
  }
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = Object.keys(left)
  if (keys.length !== Object.keys(right).length) return false
  return keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]))
}

/**
 * The RFC 6902 patch from one JSON document to the next. fast-json-patch's compare() walks objects
 * and arrays; a change of the root's type is one whole-document replace.
 */
export function jsonPatch(previous: unknown, next: unknown): PatchOperation[] {
  const container = (value: unknown) => typeof value === 'object' && value !== null
  if (!container(previous) || !container(next) || Array.isArray(previous) !== Array.isArray(next)) {
    return jsonEqual(previous, next) ? [] : [{ op: 'replace', path: '', value: next }]
  }
  return jsonpatch.compare(previous as object, next as object) as PatchOperation[]
}
