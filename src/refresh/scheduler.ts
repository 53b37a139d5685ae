import type { CisternConfig, Priority, RouteConfig } from '../config/types.js'
import { isPrivateKey } from '../gateway/routing/cache-key.js'
import { realTimers, type Timers } from '../util/timers.js'
import { type ChangeRate, initialRate, observe, parseRate } from './change-rate.js'
import { Dispatcher, type DispatcherDeps } from './dispatcher.js'
import { newJob, nextDueAt, resumedDueAt, ScheduleWriter } from './jobs.js'
import { LagStats } from './lag-stats.js'
import { keptWhile } from './policy.js'
import type { Job } from './queue.js'
import type { ScheduleStore } from './schedule-store.js'
import { queueView, snapshotOf } from './snapshot.js'
import type { QueueView, SchedulerSnapshot } from './types.js'

export interface SchedulerOptions {
  now?: () => number
  /** Wake the dispatch loop on the `now` clock (default: real timers; tests pass a fake clock's). */
  timers?: Timers
  random?: () => number
  /** Keys overdue at start are spread over min(every, this), so a restart is no thundering herd. */
  resumeSpreadMs?: number
  /** Reads are written to the schedule in batches this often (a crash loses at most this much heat). */
  flushEveryMs?: number
  /** Most keys kept warm; reads of further keys are not enrolled. */
  maxKeys?: number
}

export interface SchedulerDeps extends Pick<DispatcherDeps, 'run' | 'policyData' | 'capOf'> {
  schedule: ScheduleStore
  /** A key entered the schedule from a read (capture its baseline version). */
  enrolled?: (key: string) => void
  onError?: (error: unknown, what: string) => void
  /** A key's `refresh.while` could not be evaluated (once per key and error); the key stays scheduled. */
  onWhileError?: (info: { key: string; route: string; error: string }) => void
}

/**
 * The refresh scheduler: a durable schedule of keys kept warm, dispatched per upstream in order of
 * priority, then how overdue, then popularity. It spends only the background lane (the gateway's
 * refreshKey asks the budget for it) and keeps only a few refreshes in flight per upstream, so when
 * the budget is short the queue, not the budget's FIFO, decides who waits: low priorities first.
 */
export class Scheduler {
  readonly #routes: ReadonlyMap<string, RouteConfig>
  readonly #defaultPriority: Priority
  readonly #jobs = new Map<string, Job>()
  readonly #writer: ScheduleWriter
  readonly #stats = new LagStats()
  readonly #now: () => number
  readonly #options: Required<Omit<SchedulerOptions, 'now' | 'timers'>>
  readonly #dispatcher: Dispatcher
  readonly #schedule: ScheduleStore
  readonly #enrolled: ((key: string) => void) | undefined
  /** Learned change rates of adaptive keys that left the schedule, for when they come back (bounded). */
  readonly #dormant = new Map<string, ChangeRate>()
  /** Adaptive keys read once and not yet kept: when. A second read within the hot window keeps them. */
  readonly #candidates = new Map<string, number>()
  #flushTimer: NodeJS.Timeout | undefined

  constructor(config: CisternConfig, deps: SchedulerDeps, options: SchedulerOptions = {}) {
    this.#writer = new ScheduleWriter(deps.schedule, deps.onError ?? (() => {}))
    this.#routes = new Map(config.routes.map((r) => [r.name, r]))
    this.#defaultPriority = config.refreshDefaults.priority
    this.#schedule = deps.schedule
    this.#enrolled = deps.enrolled
    const onWhileError = deps.onWhileError ?? (() => {})
    this.#now = options.now ?? Date.now
    this.#options = {
      random: options.random ?? Math.random,
      resumeSpreadMs: options.resumeSpreadMs ?? 10_000,
      flushEveryMs: options.flushEveryMs ?? 5_000,
      maxKeys: options.maxKeys ?? 100_000,
    }
    this.#dispatcher = new Dispatcher({
      now: this.#now,
      timers: options.timers ?? realTimers,
      stats: this.#stats,
      run: deps.run,
      policyData: deps.policyData,
      capOf: deps.capOf,
      drop: (job) => this.#drop(job),
      whileFailed: (job, error) => onWhileError({ key: job.key, route: job.route.name, error }),
      reschedule: (job, started, changed, fetchedAt) => {
        if (changed !== undefined) this.#observed(job, fetchedAt ?? started, changed)
        // No call was made: the next one is due a period after the client's fetch.
        job.dueAt = job.again
          ? this.#now()
          : fetchedAt !== undefined
            ? fetchedAt + job.every
            : nextDueAt(job, started)
        job.forced = job.again
        job.again = false
        this.#writer.rescheduled(job)
        this.#dispatcher.push(job)
      },
      defer: (job, retryInMs) => {
        // Still forced if it was: a refresh asked for runs once the other instance's refresh is over.
        job.dueAt = job.again ? this.#now() : this.#now() + retryInMs
        if (job.again) job.forced = true
        job.again = false
        this.#writer.rescheduled(job)
        this.#dispatcher.push(job)
      },
    })
  }

  /** Load the durable schedule (overdue keys spread out with jitter) and start dispatching. */
  start(): void {
    const now = this.#now()
    const { resumeSpreadMs, random } = this.#options
    for (const row of this.#schedule.all()) {
      const route = this.#routes.get(row.route)
      if (!route?.refresh) {
        this.#schedule.delete(row.key)
        continue
      }
      // A key a client read before start() is already enrolled.
      if (this.#jobs.has(row.key)) continue
      const adaptive = route.refresh.adaptive
      const rate = adaptive && (parseRate(row.rate, adaptive) ?? initialRate(adaptive))
      const every = rate ? rate.intervalMs : route.refresh.every
      const dueAt = resumedDueAt(row.dueAt, every, now, resumeSpreadMs, random)
      const job = this.#newJob(row.key, route, every, dueAt, row.lastReadAt)
      job.reads = row.reads
      job.failures = row.failures
      if (rate) {
        job.rate = rate
        // Its read rate is measured from now: the stored total spans the key's whole history.
        job.readsAtDispatch = row.reads
        job.dispatchedAt = now
      }
      this.#add(job)
    }
    this.#flushTimer = setInterval(() => this.flush(), this.#options.flushEveryMs)
    this.#flushTimer.unref()
    this.#dispatcher.start()
  }

  /** A client read `key` on a route with a refresh policy. O(1): the gateway calls this on every hit. */
  onRead(key: string, route: RouteConfig): void {
    const job = this.#jobs.get(key)
    const now = this.#now()
    if (job) {
      job.lastReadAt = now
      job.reads++
      if (job.every === 0 && route.refresh) this.#keep(job, route)
      this.#writer.touched(job)
      return
    }
    if (route.refresh?.adaptive && !this.#readAgain(key, route, now)) return
    this.#enroll(key, route, undefined, 1)
  }

  /**
   * Whether an adaptive key not kept was read before, within its hot window: one stray read does not
   * make a key hot (its miss fetched it fresh anyway); a second one soon after does.
   */
  #readAgain(key: string, route: RouteConfig, now: number): boolean {
    const policy = route.refresh!.while
    if (policy.kind !== 'hot') return true
    const firstAt = this.#candidates.get(key)
    const window = keptWhile(policy, this.#rateOf(key, route)?.intervalMs)
    if (firstAt !== undefined && window.kind === 'hot' && now - firstAt <= window.window) {
      this.#candidates.delete(key)
      return true
    }
    this.#candidates.delete(key)
    this.#candidates.set(key, now)
    if (this.#candidates.size > this.#options.maxKeys)
      this.#candidates.delete(this.#candidates.keys().next().value!)
    return false
  }

  /**
   * Keep `key` warm from now on, as if a client had just read it but without counting a read: a key
   * cistern fetched on its own (warm, prewarm), whose first client may come much later, or one an
   * operator refreshed by key. A `while: hot` key stays for one hot window unless a client reads it.
   * Its first refresh falls due `delayMs` from now. Returns whether it is kept.
   */
  keep(key: string, route: RouteConfig, delayMs?: number): boolean {
    const job = this.#jobs.get(key)
    if (job) {
      if (job.every === 0 && route.refresh) this.#keep(job, route)
      return true
    }
    return this.#enroll(key, route, delayMs === undefined ? undefined : this.#now() + delayMs) !== undefined
  }

  /**
   * Refresh these keys as soon as the budget allows (webhooks, POST /refresh): kept keys fall due
   * now; others run once at their route's priority, or, with `enroll` and a route with `refresh`,
   * join the schedule (an operator refreshing one key by hand wants it kept warm). Returns how many
   * were queued.
   */
  refreshKeys(
    keys: Iterable<string>,
    locate: (key: string) => RouteConfig | undefined,
    options: { enroll?: boolean } = {},
  ): number {
    let queued = 0
    const now = this.#now()
    for (const key of keys) {
      const job = this.#jobs.get(key)
      // A one-shot refresh already queued for the key becomes a kept key all the same.
      if (job && options.enroll && job.every === 0 && job.route.refresh) this.#keep(job, job.route)
      if (job) job.forced = true
      if (job?.running) job.again = true
      else if (job) {
        job.dueAt = Math.min(job.dueAt, now)
        this.#dispatcher.push(job)
      } else {
        const route = locate(key)
        if (!route?.cache || isPrivateKey(key)) continue
        if (!(options.enroll && route.refresh && this.#enroll(key, route, now, 0, true))) {
          const oneShot = this.#newJob(key, route, 0, now, 0)
          oneShot.forced = true
          this.#add(oneShot)
        }
      }
      queued++
    }
    return queued
  }

  /**
   * The version a newly kept key was served (its first refresh compares with it): an adaptive key with
   * no history yet starts from how long that version's data had gone unchanged when it was fetched
   * (`initialRate`), and is first refreshed one such interval from now. A key that has
   * history, is being refreshed or was asked to be (it stays due now), or whose version has no
   * Last-Modified is left as it is.
   */
  firstVersion(key: string, version: { fetchedAt: number; lastModifiedAt: number | undefined }): void {
    const job = this.#jobs.get(key)
    const adaptive = job?.route.refresh?.adaptive
    if (!job?.rate || !adaptive || job.rate.refreshes > 0 || job.running || job.forced || job.every === 0)
      return
    if (version.lastModifiedAt === undefined) return
    job.rate = initialRate(adaptive, version.fetchedAt - version.lastModifiedAt)
    job.every = job.rate.intervalMs
    // One interval from enrolment, like any new key (never later than it was): its first refresh also
    // measures its read rate (reads since enrolment), so it is not moved back to the version's fetch.
    job.dueAt = Math.min(job.dueAt, this.#now() + job.every)
    this.#writer.rescheduled(job)
    this.#dispatcher.push(job)
  }

  /** When a key is next refreshed, if it is scheduled. */
  nextRefresh(key: string): number | undefined {
    return this.#jobs.get(key)?.dueAt
  }

  /** Why a scheduled key's `while` could not be evaluated at its last refresh, if it could not. */
  whileError(key: string): { message: string; since: number } | undefined {
    return this.#jobs.get(key)?.whileError
  }

  snapshot(): SchedulerSnapshot {
    return snapshotOf(this.#jobs.values(), this.#stats, this.#now())
  }

  queue(limit = 100): QueueView {
    return queueView(this.#jobs.values(), this.#now(), limit)
  }

  /** Write batched reads to the schedule. */
  flush(): void {
    this.#writer.flush()
  }

  /** Stop dispatching; resolves when running refreshes end or `graceMs` passes. */
  async stop(graceMs = 5000): Promise<void> {
    clearInterval(this.#flushTimer)
    this.flush()
    await this.#dispatcher.stop(graceMs)
  }

  #newJob(key: string, route: RouteConfig, every: number, dueAt: number, lastReadAt: number): Job {
    return newJob(key, route, route.refresh?.priority ?? this.#defaultPriority, every, dueAt, lastReadAt)
  }

  /** A new kept key, due at `dueAt` (default: one period from now); undefined when it cannot be kept. */
  #enroll(key: string, route: RouteConfig, dueAt?: number, reads = 0, forced = false): Job | undefined {
    // A key bound to a client's credentials can only be refreshed by that client.
    if (!route.refresh || isPrivateKey(key) || this.#jobs.size >= this.#options.maxKeys) return undefined
    const now = this.#now()
    const rate = this.#rateOf(key, route)
    const every = rate?.intervalMs ?? route.refresh.every
    const added = this.#newJob(key, route, every, dueAt ?? now + every, now)
    if (rate) {
      added.rate = rate
      this.#dormant.delete(key)
      this.#candidates.delete(key)
    }
    added.reads = reads
    added.forced = forced
    this.#add(added)
    this.#writer.persist(added)
    this.#enrolled?.(key)
    return added
  }

  #add(job: Job): void {
    this.#jobs.set(job.key, job)
    this.#dispatcher.push(job)
  }

  /** A one-shot key read on a refresh route becomes a kept key. */
  #keep(job: Job, route: RouteConfig): void {
    const rate = this.#rateOf(job.key, route)
    job.every = rate?.intervalMs ?? route.refresh!.every
    if (rate) {
      job.rate = rate
      this.#dormant.delete(job.key)
    }
    job.priority = route.refresh!.priority
    this.#writer.persist(job)
    if (!job.running) this.#dispatcher.push(job)
  }

  #drop(job: Job): void {
    job.gone = true
    this.#jobs.delete(job.key)
    this.#writer.dropped(job)
    if (job.rate) {
      this.#dormant.set(job.key, job.rate)
      if (this.#dormant.size > this.#options.maxKeys) this.#dormant.delete(this.#dormant.keys().next().value!)
    }
  }

  /** An adaptive route's key: what it learned before, or where a key with no history starts. */
  #rateOf(key: string, route: RouteConfig): ChangeRate | undefined {
    const adaptive = route.refresh?.adaptive
    return adaptive && (this.#jobs.get(key)?.rate ?? this.#dormant.get(key) ?? initialRate(adaptive))
  }

  /** A version fetched at `at` was found changed or not: an adaptive key learns from it. */
  #observed(job: Job, at: number, changed: boolean): void {
    const adaptive = job.route.refresh?.adaptive
    if (job.rate && adaptive && job.every > 0 && at > job.observedAt) {
      job.rate = observe(job.rate, { changed, elapsedMs: at - job.observedAt }, adaptive)
      job.every = job.rate.intervalMs
    }
    job.observedAt = Math.max(job.observedAt, at)
  }
}
