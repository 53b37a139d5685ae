import type { Entry } from '../model/entry.js'
import type { Codec } from './codec.js'
import { publish } from './events.js'
import type { GuardedStore } from './guarded-store.js'
import type { MemoryRecord, MemoryTier, StoreLoad } from './memory-tier.js'

/**
 * The store's entry for `key`, decoded, as a memory-tier record (kept if the tier has room). Answers
 * synchronously when the store reads synchronously, so a store hit costs no promise. Undecodable
 * bytes read as missing and are reported, never thrown at the reader.
 */
export function loadFromStore<T>(
  store: GuardedStore,
  codec: Codec<T>,
  memory: MemoryTier<T>,
  key: string,
  now: number,
): MemoryRecord<T> | undefined | Promise<MemoryRecord<T> | undefined> {
  // Text skips a Buffer per read, but a record the memory tier keeps needs its bytes anyway (the
  // gateway serves them), which would cost more than reading them as a blob: text only without it.
  if (codec.decodeText && store.getTextSync && memory.maxBytes === 0) {
    const entry = store.getTextSync(key, now)
    return entry && promote(memory, key, entry, () => codec.decodeText!(entry.text, entry))
  }
  if (store.getSync) {
    const entry = store.getSync(key, now)
    return entry && promote(memory, key, entry, () => codec.decode(entry.value, entry))
  }
  // An asynchronous store is shared: another instance's invalidation may arrive while this read is
  // under way, and the value it read must then not stay in the memory tier.
  const load = memory.beginLoad(key)
  return store.get(key, now).then(
    (entry) => {
      memory.endLoad(load)
      return entry && promote(memory, key, entry, () => codec.decode(entry.value, entry), load)
    },
    (error: unknown) => {
      memory.endLoad(load)
      throw error
    },
  )
}

function promote<T>(
  memory: MemoryTier<T>,
  key: string,
  entry: Entry,
  decode: () => T,
  load?: StoreLoad,
): MemoryRecord<T> | undefined {
  let value: T
  try {
    value = decode()
  } catch (error) {
    publish('error', () => ({ key, error, phase: 'serialize' }))
    return undefined
  }
  return memory.put(entry, value, load)
}
