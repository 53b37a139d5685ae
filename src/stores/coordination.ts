import type { Selector } from './store.js'

/**
 * What several cistern instances on one store server share beyond the entries themselves
 * (../shared/DESIGN.md, "Stores and scale"). A store that can be shared (Redis, Postgres) offers a
 * Coordination beside its Store; a single instance (memory, SQLite) runs without one, and every part
 * then keeps today's in-process behaviour.
 *
 * Two rules hold for every implementation:
 * - Every shared time comes from the store server's clock (Redis `TIME`, Postgres `clock_timestamp()`),
 *   never from an instance's: instances' clocks may disagree by seconds.
 * - Every call has a timeout and a breaker. When the server is unreachable a call fails fast with a
 *   StoreError (never hangs), `healthy()` turns false, and each part falls back to its local behaviour
 *   (memory tier, per-process single-flight, a local share of the budget) until the server is back.
 */
export interface Coordination {
  /** 'redis' or 'postgres', for logs and metrics. */
  readonly name: string
  /** This process's id (random per start): in leases, claims and heartbeats. */
  readonly instanceId: string
  readonly invalidations: InvalidationBus
  readonly leases: Leases
  readonly ceiling: SharedCeiling
  readonly refreshClaims: RefreshClaims
  readonly changes: SharedChangeLog
  readonly once: OnceRegistry
  /** False while the server does not answer (the breaker is open): parts use their local fallback. */
  healthy(): boolean
  /** Connects, joins the heartbeat and starts reading the invalidation stream. */
  start(): Promise<void>
  close(): Promise<void>
}

/**
 * Keeps the instances' memory tiers in agreement: every write and every invalidation one instance makes
 * is published (keys, tags and prefixes, never values), and every other instance applies it to its
 * memory tier. Durable and ordered (a Redis Stream, a Postgres sequence), so a subscriber that was away
 * reads what it missed; when it cannot know what it missed (its position trimmed away, the stream
 * recreated, an outage) it is told `gap` and must drop its whole memory tier.
 */
export interface InvalidationBus {
  /** Tell the other instances. Resolves once the server holds the message; rejects with a StoreError. */
  publish(message: InvalidationMessage): Promise<void>
  /** Messages from other instances (never this one's own), in order. Returns an unsubscribe. */
  subscribe(listener: InvalidationListener): () => void
}

export interface InvalidationMessage {
  selector: Selector
  /** Soft: mark stale and keep for stale serving. Hard: drop. A write replacing an entry is `{ key }`, hard. */
  soft: boolean
}

export interface InvalidationListener {
  /** `at` is the server's time of the invalidation (soft purges mark entries stale as of it). */
  invalidate(message: InvalidationMessage, at: number): void
  /** Some messages may have been missed: drop everything the memory tier holds. */
  gap(reason: string): void
}

/**
 * Single-flight across instances: one lease per key, held by the instance fetching it. The holder
 * renews it while its call runs; a holder that dies or freezes loses it after `ttlMs`, and its late
 * write is rejected by the store (the fence is older than the next holder's). Waiters on other
 * instances are woken when the holder releases, without polling hot.
 */
export interface Leases {
  /** The lease on `key` for this instance, or undefined when another instance holds it. */
  acquire(key: string, ttlMs: number): Promise<Lease | undefined>
  /**
   * Resolves true when the lease on `key` is released (the result is then in the store), false when
   * `timeoutMs` passes first. A holder that died without releasing wakes waiters when its lease expires.
   * Rejects as soon as the store does not answer a look at the lease: a waiter must not sit out its
   * timeout on a server that is away (the caller then fetches on its own).
   */
  waitFor(key: string, timeoutMs: number): Promise<boolean>
}

export interface Lease {
  readonly key: string
  /**
   * Fencing version, increasing across all instances: a store write made under this lease carries it
   * (`Store.set(entry, { fence })`) and is dropped when the stored entry has a newer one.
   */
  readonly fence: number
  /** Aborted when the lease is lost (not renewed in time, taken over): the holder must not write. */
  readonly signal: AbortSignal
  /** Give the lease back and wake the waiters; never throws (a failed release just expires). */
  release(): Promise<void>
}

/**
 * The upstream ceiling shared by every instance: a GCRA bucket per upstream key, evaluated on the
 * server in one atomic step (a Lua script reading `TIME`, one SQL statement on `clock_timestamp()`).
 * A deliberate structural copy of SharedCeiling, BucketRate and TakeResult stands in
 * src/upstream/budget/types.ts: upstream/ is a leaf that must not import stores/
 * (.dependency-cruiser.cjs). Change both together; test/stores/shared-ceiling-shape.test.ts fails
 * the typecheck when they part.
 */
export interface SharedCeiling {
  /** Take one permit from `bucket`, or learn how long until one could be had. */
  take(bucket: string, rate: BucketRate, lane: 'foreground' | 'background'): Promise<TakeResult>
  /** Grant nothing on `bucket` for `forMs` (server clock); never shortens a longer pause already set. */
  pause(bucket: string, forMs: number, reason: string): Promise<void>
  /** Instances that sent a heartbeat recently (at least 1: this one). A local share is rate ÷ this. */
  liveInstances(): number
}

export interface BucketRate {
  /** One permit every `intervalMs` on average... */
  intervalMs: number
  /** ...with up to `burst` at once. */
  burst: number
  /** Permits the background lane may never take (kept for clients). */
  reserve: number
}

export type TakeResult = { granted: true } | { granted: false; retryInMs: number; pausedFor?: string }

/**
 * Each due refresh runs once across the cluster. An instance claims a key before refreshing it; the
 * claim is a lease that expires if the instance dies mid-refresh, so another instance takes it over.
 * When the refresh is done the claim becomes a marker until the key is next due, so the other
 * instances, whose schedules also hold the key, skip it and line their next due time up with it.
 * What the refresh last saw of a key (its digest, for change detection) is shared too, so a change
 * is detected once whichever instance refreshes.
 */
export interface RefreshClaims {
  /**
   * `force`: a refresh asked for now (a webhook, an operator) takes over a 'done' marker, since what it
   * was asked to fetch may be newer than that refresh; it still never runs beside a 'running' one.
   */
  claim(key: string, leaseMs: number, options?: { force?: boolean }): Promise<RefreshClaim | Busy>
  /** What the last refresh of `key` saw, by whichever instance. */
  seen(key: string): Promise<SharedSeen | undefined>
}

export interface RefreshClaim {
  readonly claimed: true
  readonly signal: AbortSignal
  /**
   * Done: record what was seen (when it changed or was confirmed) and hold the key until `nextInMs`
   * (0: not held). When the claim was lost first, nothing is recorded and `signal` is aborted: the
   * caller checks it before publishing what it found, so only the holder publishes.
   */
  done(nextInMs: number, seen?: SharedSeen): Promise<void>
  /** Failed or abandoned: let another instance (or this one) try again at once. */
  release(): Promise<void>
}

export interface Busy {
  readonly claimed: false
  /** Another instance is refreshing it ('running') or refreshed it and it is not due yet ('done'). */
  readonly state: 'running' | 'done'
  /** When to look again (ms from now). */
  readonly retryInMs: number
}

export interface SharedSeen {
  digest: string
  fetchedAt: number
  headers: Record<string, string>
  /** The body, when small enough to keep for patches (bounded by the implementation). */
  body: Buffer | null
}

/**
 * The change feed shared by every instance: an event is appended once (by the instance that detected
 * it) and every instance serves the same ids, so Last-Event-ID works whichever instance a client
 * reconnects to. Bounded: the oldest events are trimmed past the capacity.
 */
export interface SharedChangeLog {
  append(event: SharedChange): Promise<void>
  /**
   * Events after `lastEventId` (all kept events without one), oldest first, at most `limit`; undefined
   * when that id is no longer (or never was) kept: the client cannot resume and must be told to reset.
   */
  since(lastEventId: string | undefined, limit: number): Promise<SharedChange[] | undefined>
  /** Every event appended from now on by any instance, in order. Returns an unsubscribe. */
  tail(listener: (event: SharedChange) => void): () => void
}

export interface SharedChange {
  id: string
  route: string
  /** The event as the refresh path serialises it. */
  json: string
}

/** "Act on this once": a webhook delivery received by two instances, a notify delivery. */
export interface OnceRegistry {
  /** True for the first caller of (scope, id) within `ttlMs`, false for every later one on any instance. */
  first(scope: string, id: string, ttlMs: number): Promise<boolean>
}
