import type Database from 'better-sqlite3'
import type { RouteConfig } from '../config/types.js'
import type { SharedChangeLog } from '../stores/coordination.js'
import { redactUrl } from '../util/redact.js'
import { type DetectedChange, detectChange, invalidationTags } from './change.js'
import type { EventLog } from './event-log.js'
import type { ChangeFeed } from './feed.js'
import { pathOfKey, type RefreshHost, seenOf } from './host.js'
import type { Notifier } from './notify/notifier.js'
import type { ScheduleStore, Seen } from './schedule-store.js'
import type { ChangeEvent } from './types.js'
import { type Warmer, warmPaths } from './warm.js'

export interface JobDeps {
  host: RefreshHost
  db: Database.Database
  schedule: ScheduleStore
  log: EventLog
  feed: ChangeFeed
  notifier: Notifier
  warmer: Warmer
  /** The gateway's public base URL, for the events' `url`. */
  baseUrl: () => string
  /** Query parameter names masked in the events' key and url besides the built-in rule (secretParamsOf). */
  secretParams: readonly string[]
  now: () => number
  onChange?: (event: ChangeEvent) => void
  onError?: (error: unknown, what: string) => void
}

export type JobOutcome =
  /** The key cannot be refreshed by anyone but its client (credentials) or no route serves it. */
  | { kind: 'drop' }
  /**
   * `changed`: whether the version found differs from the last one seen; undefined when nothing was
   * compared (the answer was not stored, the claim was lost before recording, or there was no
   * earlier version). `change`: the event, when it differs. `fetchedAt`: when the version compared
   * was fetched, if not by this refresh (a client fetched the key since the last version seen, and
   * that copy was younger than `skipYoungerThan`: no call).
   */
  | { kind: 'done'; changed: boolean | undefined; change: ChangeEvent | undefined; fetchedAt?: number }
  /** Another instance refreshes the key now or refreshed it and it is not due yet (Coordination). */
  | { kind: 'busy'; retryInMs: number }

/**
 * This refresh holds the key's claim across instances (see shared.ts): what it compares with and
 * where it records and publishes go through the Coordination instead of this instance's database.
 */
export interface SharedRefresh {
  /** What the last refresh of the key saw, on any instance (undefined: none recorded yet). */
  seen: Seen | undefined
  /** Record what this refresh saw for every instance; false when the claim was lost first. */
  record(seen: Seen): Promise<boolean>
  changes: SharedChangeLog
}

/**
 * One refresh of one key: ask the upstream (conditionally, background lane), compare the version
 * with the last one seen, and on a change record the event, its outbox deliveries and the new
 * version in one transaction; then publish, invalidate dependent tags and warm derived paths.
 * `kept`: the key is in the schedule, whose row holds the last version seen (so a change made by a
 * client miss in between is still reported); otherwise the cache's copy is the baseline.
 */
export async function runRefresh(
  deps: JobDeps,
  key: string,
  route: RouteConfig,
  kept: boolean,
  skipYoungerThan = 0,
  shared?: SharedRefresh,
): Promise<JobOutcome> {
  const { host, schedule } = deps
  const seen = shared?.seen ?? (kept ? schedule.seen(key) : undefined)
  const previous = seen ?? (await host.peek(key))
  // A client's miss or revalidation fetched the key since the last version this key saw: the copy is
  // as new as this refresh would make it, so it is compared instead, and the upstream is not asked.
  // The copy this key's own last refresh made is not one: it is stamped when the upstream answered,
  // while the next due time counts from when that refresh started, so it always looks a little
  // younger than the period; skipping for it put every other refresh off by the latency and taught
  // the learner "unchanged after <latency> ms". Without a version seen (a shared refresh run as this
  // instance's own) that cannot be told apart, so the upstream is asked.
  const copy = skipYoungerThan > 0 && seen ? await host.peek(key) : undefined
  const skipped =
    copy !== undefined &&
    seen !== undefined &&
    copy.fetchedAt > seen.fetchedAt &&
    deps.now() - copy.fetchedAt < skipYoungerThan
  let next: Seen
  let tags: string[]
  if (skipped) {
    next = copy
    tags = copy.tags
  } else {
    const outcome = await host.refreshKey(key)
    if (outcome.kind !== 'refreshed') return { kind: 'drop' }
    const result = outcome.result
    if (!result.stored) return { kind: 'done', changed: undefined, change: undefined }
    next = seenOf(result.value, result.entry)
    tags = result.entry.tags
  }
  // Recorded for every instance before anything is published: a claim lost by now (this instance
  // froze past its lease) records nothing, and the instance that took the key over reports the change.
  if (shared && !(await shared.record(next))) return { kind: 'done', changed: undefined, change: undefined }
  const fetchedAt = skipped ? { fetchedAt: next.fetchedAt } : {}
  if (!previous || previous.digest === next.digest) {
    if (kept && !previous) schedule.setSeen(key, next)
    else if (kept) schedule.confirm(key, next.fetchedAt)
    // No earlier version: this one is the baseline, compared with nothing.
    return { kind: 'done', changed: previous ? false : undefined, change: undefined, ...fetchedAt }
  }
  const params = host.locate(key)?.params ?? {}
  const change = detectChange({
    route,
    params,
    // Events go to feed clients and notify receivers: they show keys and URLs as every log does.
    key: redactUrl(key, deps.secretParams),
    url: redactUrl(deps.baseUrl() + pathOfKey(key), deps.secretParams),
    previous,
    next,
    tags,
    now: deps.now(),
  })
  // Shared: the event goes to the shared log, from which every instance's feed (this one's too)
  // hears it; only when the log cannot take it does it go to this instance's own feed.
  const appended =
    shared &&
    (await shared.changes
      .append({ id: change.event.id, route: change.event.route, json: JSON.stringify(change.event) })
      .then(
        () => true,
        (error: unknown) => {
          deps.onError?.(error, 'change log')
          return false
        },
      ))
  deps.db.transaction(() => {
    if (kept) schedule.setSeen(key, next)
    if (!appended) deps.log.append(change.event)
    // Notify deliveries go out from the instance that detected the change: once.
    deps.notifier.enqueue(change.event, { params, body: change.nextBody })
  })()
  deps.notifier.kick()
  if (!appended) deps.feed.publish(change.event)
  deps.onChange?.(change.event)
  followUp(deps, route, params, change)
  return { kind: 'done', changed: true, change: change.event, ...fetchedAt }
}

/** Invalidation and warming run after the refresh, so they never hold up the scheduler. */
function followUp(deps: JobDeps, route: RouteConfig, params: Record<string, string>, change: DetectedChange) {
  const tags = invalidationTags(route, params, change)
  if (tags.length > 0) {
    deps.host
      .invalidateTags(tags, route.changes?.soft ?? true)
      .catch((error: unknown) => deps.onError?.(error, 'invalidate'))
  }
  if (!route.warm) return
  const changedIds = change.items && new Set([...change.event.added, ...change.event.changed])
  deps.warmer.warm(warmPaths(route, params, change.nextBody, changedIds))
}
