export { type Admin, type AdminOptions, createAdmin } from './admin.js'
export type {
  AdminHooks,
  AdminRecorder,
  EventsPage,
  EventsQuery,
  QueueItem,
  QueueSnapshot,
  UpstreamCallReport,
} from './hooks.js'
export { createMonitor, type Monitor } from './monitor.js'
export { type AdminToken, resolveAdminToken, type TokenSource } from './server/auth.js'
