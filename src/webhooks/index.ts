/** Webhooks in: verify signed pushes from upstreams, keep them, and act on them. */
export { type ActionDeps, type Invalidator, runActions, softInvalidationRefresher } from './actions.js'
export { type WebhookCounterName, type WebhookCounterSample, WebhookCounters } from './counters.js'
export type { Reply, WebhookErrorCode } from './respond.js'
export {
  type EventStore,
  eventLogPath,
  MemoryEventStore,
  openEventStore,
  SqliteEventStore,
} from './store/index.js'
export * from './types.js'
export { createVerifier, type HeaderMap, type Verifier, type VerifyResult } from './verify/index.js'
export { createWebhooks, openWebhookLog, type Webhooks, type WebhooksDeps } from './webhooks.js'
