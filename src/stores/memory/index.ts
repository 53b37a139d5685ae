export { ByteLru, type Sized } from './byte-lru.js'
export { KeyIndex } from './key-index.js'
export { entryCost, type MemoryStoreOptions, memoryStore } from './memory-store.js'
