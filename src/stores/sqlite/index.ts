export { type SqliteStore, type SqliteStoreOptions, sqliteStore } from './store.js'
