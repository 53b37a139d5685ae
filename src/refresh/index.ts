import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CisternConfig } from '../config/types.js'
import type { ExtraHandler } from '../gateway/server/context.js'
import { secretParamsOf } from '../log/secrets.js'
import type { Coordination } from '../stores/coordination.js'
import type { Selector } from '../stores/store.js'
import { parseHttpDate } from '../util/http-date.js'
import type { Part } from '../util/lifecycle.js'
import type { Timers } from '../util/timers.js'
import { inFlightCap } from './capacity.js'
import { parseBody } from './change.js'
import { openRefreshDb, refreshDbPath } from './db.js'
import { EventLog } from './event-log.js'
import { ChangeFeed } from './feed.js'
import type { RefreshHost } from './host.js'
import { Notifier, type NotifyOptions } from './notify/notifier.js'
import { OutboxStore } from './notify/outbox-store.js'
import { type JobDeps, runRefresh } from './refresh-job.js'
import { ScheduleStore } from './schedule-store.js'
import { Scheduler, type SchedulerDeps, type SchedulerOptions } from './scheduler.js'
import { runClaimed } from './shared.js'
import { ChangeStreams, limitsOf, publicChangesHandler } from './sse.js'
import type { ChangeEvent } from './types.js'
import { Warmer, warmPaths } from './warm.js'

export type { ChangeListener, FeedFilter } from './feed.js'
export { ChangeFeed } from './feed.js'
export { gatewayHost, type RefreshHost } from './host.js'
export type { TargetStats } from './notify/notifier.js'
export { Scheduler } from './scheduler.js'
export { CHANGES_PATH, ChangeStreams } from './sse.js'
export * from './types.js'

export interface RefreshOptions {
  now?: () => number
  /**
   * The gateway's URL, read each time a change event is built (its `url`); the gateway starts before
   * the refresh path, so it is known by then. Default: none (event URLs are paths).
   */
  baseUrl?: () => string
  /** Timers on the `now` clock for the scheduler's wake-ups and notify retries (default: real timers). */
  timers?: Timers
  /** The refresh database; default: `<store>.refresh.db` beside a SQLite store, else in memory. */
  dbPath?: string
  /** Change events kept for Last-Event-ID resumption. */
  bufferSize?: number
  /** Undelivered notifications kept per target (the oldest are dropped past it). */
  outboxPerTarget?: number
  scheduler?: SchedulerOptions
  notify?: NotifyOptions
  onChange?: (event: ChangeEvent) => void
  onError?: (error: unknown, what: string) => void
  /** A kept key's `refresh.while` could not be evaluated (once per key and error); it stays scheduled. */
  onWhileError?: SchedulerDeps['onWhileError']
  /**
   * Several instances on one shared store: each due refresh is claimed first (done once across
   * them), changes are detected against what any instance saw last, and the change feed is the
   * shared log (the same ids on every instance). Without it, everything is this instance's own.
   */
  coordination?: Pick<Coordination, 'refreshClaims' | 'changes' | 'healthy'>
}

export interface Refresh extends Part {
  readonly scheduler: Scheduler
  readonly feed: ChangeFeed
  readonly notifier: Notifier
  readonly warmer: Warmer
  /** `/_cistern/changes` on the public port, for the gateway's extraHandlers (404 unless feed.public). */
  readonly sseHandler: ExtraHandler
  /** `GET /changes` on the admin listener (which has checked the admin token): the admin's hook. */
  serveAdminChanges(req: IncomingMessage, res: ServerResponse): void
  /** The two listeners' change streams: open, refused at the cap, dropped as too slow. */
  streamStats(): { public: ReturnType<ChangeStreams['stats']>; admin: ReturnType<ChangeStreams['stats']> }
  /**
   * Refresh a selection now, in the background lane, with change detection; tags and prefixes up to
   * 10,000 keys. `enroll`: keys of routes with `refresh` also join the schedule.
   */
  refresh(selector: Selector, options?: { enroll?: boolean }): Promise<{ queued: number }>
  /** Refresh the key a client GET of `path` (with optional query, no request headers) reads, as refresh(). */
  refreshPath(path: string, options?: { enroll?: boolean }): Promise<{ queued: number }>
  /** Hook for the gateway's onRead. */
  onRead: Scheduler['onRead']
  /** Load the schedule, start the notifier, prewarm. Call once the gateway listens (its URL is known). */
  start(): Promise<void>
  /**
   * Stop everything and close the database; pending work stays in it for the next start. Safe before
   * start and more than once.
   */
  close(graceMs?: number): Promise<void>
}

/** The refresh path, assembled: schedule, scheduler, change detection, feed, SSE, notify outbox, warming. */
export function createRefresh(
  config: CisternConfig,
  host: RefreshHost,
  options: RefreshOptions = {},
): Refresh {
  const now = options.now ?? Date.now
  // The scheduler and the notifier read and wait on one clock.
  const clock = { now, ...(options.timers && { timers: options.timers }) }
  const onError = options.onError ?? (() => {})
  const db = openRefreshDb(options.dbPath ?? refreshDbPath(config.store), {
    onFault: (error) => onError(error, 'refresh database unusable, kept in memory until restart'),
  })
  const schedule = new ScheduleStore(db)
  const log = new EventLog(db, options.bufferSize ?? 10_000)
  const { coordination } = options
  const feed = new ChangeFeed(log, coordination?.changes, options.bufferSize ?? 10_000)
  const outbox = new OutboxStore(db, options.outboxPerTarget ?? 10_000)
  let notifier: Notifier
  try {
    notifier = new Notifier(config.notify, outbox, { ...clock, ...options.notify })
  } catch (error) {
    feed.close()
    db.close()
    throw error
  }
  const warmer = new Warmer(host, { onWarmed: (key, first) => adopt(key, first) })
  const publicStreams = new ChangeStreams(feed, limitsOf(config.feed))
  const adminStreams = new ChangeStreams(feed, limitsOf(config.feed))
  const deps: JobDeps = {
    host,
    db,
    schedule,
    log,
    feed,
    notifier,
    warmer,
    baseUrl: options.baseUrl ?? (() => ''),
    secretParams: secretParamsOf(config),
    now,
    onError,
    ...(options.onChange && { onChange: options.onChange }),
  }
  const scheduler = new Scheduler(
    config,
    {
      schedule,
      run: (key, route, kept, job, skipYoungerThan) =>
        coordination
          ? runClaimed(deps, coordination, key, route, kept, job, skipYoungerThan)
          : runRefresh(deps, key, route, kept, skipYoungerThan),
      policyData(job) {
        const seen = schedule.seen(job.key)
        return {
          body: parseBody(seen?.body ?? null) ?? null,
          params: host.locate(job.key)?.params ?? {},
          headers: seen?.headers ?? {},
        }
      },
      enrolled(key) {
        // The version the client was just served is the baseline the first refresh compares with.
        host.peek(key).then(
          (seen) => {
            if (!seen || closed) return
            if (!schedule.seen(key)) schedule.setSeen(key, seen)
            scheduler.firstVersion(key, {
              fetchedAt: seen.fetchedAt,
              lastModifiedAt: parseHttpDate(seen.headers['last-modified'] ?? '', seen.fetchedAt),
            })
          },
          (error: unknown) => onError(error, 'baseline'),
        )
      },
      capOf: (upstream) => inFlightCap(config.upstreams[upstream]),
      onError,
      ...(options.onWhileError && { onWhileError: options.onWhileError }),
    },
    { ...clock, ...options.scheduler },
  )
  let closed = false
  let started = false

  /**
   * A key warmed or prewarmed is kept warm like a read one when its route has `refresh`; and when it
   * was fetched for the first time, its own `warm` paths are warmed too (every item is new), so a
   * prewarmed list brings in what hangs under it (seasons → tournaments → matches). Each key cascades
   * once, on its first copy, so cycles end; the warmer's bound caps the fan-out.
   */
  function adopt(key: string, first: boolean): void {
    const located = host.locate(key)
    if (!located || closed) return
    const { route, params } = located
    if (route.refresh) scheduler.keep(key, route)
    if (!first || !route.warm) return
    host.peek(key).then(
      (seen) => {
        const body = seen && parseBody(seen.body)
        if (body !== undefined && !closed) warmer.warm(warmPaths(route, params, body, undefined))
      },
      (error: unknown) => onError(error, 'warm'),
    )
  }

  const refreshSelection: Refresh['refresh'] = async (selector, refreshOptions = {}) => {
    const keys =
      'key' in selector
        ? [selector.key]
        : 'keys' in selector
          ? selector.keys
          : await host.listKeys(selector, 10_000)
    return { queued: scheduler.refreshKeys(keys, (key) => host.locate(key)?.route, refreshOptions) }
  }

  return {
    scheduler,
    feed,
    notifier,
    warmer,
    sseHandler: publicChangesHandler(config.feed, publicStreams),
    serveAdminChanges: (req, res) => adminStreams.serve(req, res),
    streamStats: () => ({ public: publicStreams.stats(), admin: adminStreams.stats() }),
    onRead: (key, route) => scheduler.onRead(key, route),
    refresh: refreshSelection,
    refreshPath(path, refreshOptions) {
      const key = host.keyOfPath(path)
      return refreshSelection({ keys: key === undefined ? [] : [key] }, refreshOptions)
    },
    async start() {
      if (started || closed) return
      started = true
      scheduler.start()
      notifier.start()
      // A prewarmed key of a route with `refresh` is kept warm from start, not from its first read:
      // the warmer fetches it now (if missing), the schedule refreshes it from then on.
      for (const route of config.routes) {
        if (!route.refresh) continue
        for (const path of route.prewarm) {
          const key = host.keyOfPath(path)
          if (key !== undefined) scheduler.keep(key, route)
        }
      }
      warmer.warm(
        config.routes.flatMap((route) => route.prewarm),
        true,
      )
    },
    async close(graceMs = 5000) {
      if (closed) return
      closed = true
      publicStreams.closeAll()
      adminStreams.closeAll()
      feed.close()
      warmer.close()
      await Promise.all([scheduler.stop(Math.min(graceMs, 5000)), notifier.close()])
      db.close()
    },
  }
}
