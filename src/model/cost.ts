import type { Entry } from './entry.js'

/**
 * Per-entry bookkeeping beyond the value bytes (entry object, LRU and index slots), measured on Node
 * 20 with bench/lib/memory-bound.ts: ~748 B fixed per record in the engine's memory tier.
 */
const ENTRY_OVERHEAD = 704

/** What an entry costs to hold in memory, in bytes: the bound of the memory store and the memory tier. */
export function entryCost(entry: Entry): number {
  let tagBytes = 0
  for (const tag of entry.tags) tagBytes += tag.length * 2 + 64
  return entry.size + entry.key.length * 4 + tagBytes + ENTRY_OVERHEAD
}
