/** cistern as a library: the cache engine, its stores and the units it speaks. */
export * from './engine/index.js'
export { type MemoryStoreOptions, memoryStore } from './stores/memory/index.js'
export { PostgresConnection, type PostgresConnectionOptions } from './stores/postgres/connection.js'
export { type PostgresCoordinationOptions, postgresCoordination } from './stores/postgres/coordination.js'
export { type PostgresStore, type PostgresStoreOptions, postgresStore } from './stores/postgres/store.js'
export type { RedisConnection } from './stores/redis/connection.js'
export {
  type RedisCoordination,
  type RedisCoordinationOptions,
  redisCoordination,
} from './stores/redis/coordination.js'
export { type RedisEntryStore, type RedisStoreSource, redisStore } from './stores/redis/store.js'
export { type SqliteStore, type SqliteStoreOptions, sqliteStore } from './stores/sqlite/index.js'
export type { InvalidateOptions, ListPage, ListQuery, Selector, Store, StoreStats } from './stores/store.js'
export { CisternError, type ErrorCode, FactoryError, StoreError, TimeoutError } from './util/errors.js'
export {
  type Duration,
  parseDuration,
  parseRate,
  parseSize,
  type Rate,
  type Size,
  UnitError,
} from './util/units.js'
