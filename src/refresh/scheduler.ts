import type { CisternConfig, Priority, RouteConfig } from '../config/types.js'
import { LagStats } from './lag-stats.js'
import { checkWhile, type PolicyContext } from './policy.js'
import { type Job, UpstreamQueue } from './queue.js'
import type { JobOutcome } from './refresh-job.js'
import type { ScheduleStore } from './schedule-store.js'
import { queueView, snapshotOf } from './snapshot.js'
import type { QueueView, SchedulerSnapshot } from './types.js'

export interface SchedulerOptions {
  now?: () => number
  random?: () => number
  /** Keys overdue at start are spread over min(every, this), so a restart is no thundering herd. */
  resumeSpreadMs?: number
  /** Reads are written to the schedule in batches this often (a crash loses at most this much heat). */
  flushEveryMs?: number
  /** Most keys kept warm; reads of further keys are not enrolled. */
  maxKeys?: number
}

export interface SchedulerDeps {
  schedule: ScheduleStore
  run: (key: string, route: RouteConfig, kept: boolean) => Promise<JobOutcome>
  /** Body, params and headers of the last version seen, for CEL `while`. */
  policyData: (job: Job) => ReturnType<PolicyContext['data']>
  /** A key entered the schedule from a read (capture its baseline version). */
  enrolled?: (key: string) => void
  /** In-flight cap per upstream. */
  capOf: (upstream: string) => number
  onError?: (error: unknown, what: string) => void
}

/**
 * The refresh scheduler: a durable schedule of keys kept warm, dispatched per upstream in order of
 * priority, then how overdue, then popularity. It spends only the background lane (the gateway's
 * refreshKey asks the budget for it) and keeps only a few refreshes in flight per upstream, so when
 * the budget is short the queue, not the budget's FIFO, decides who waits: low priorities first.
 */
export class Scheduler {
  readonly #deps: SchedulerDeps
  readonly #routes: ReadonlyMap<string, RouteConfig>
  readonly #defaultPriority: Priority
  readonly #jobs = new Map<string, Job>()
  readonly #queues = new Map<string, UpstreamQueue>()
  readonly #dirty = new Set<Job>()
  readonly #stats = new LagStats()
  readonly #now: () => number
  readonly #options: Required<Omit<SchedulerOptions, 'now'>>
  readonly #running = new Set<Promise<void>>()
  #timer: NodeJS.Timeout | undefined
  #wakeAt = Number.POSITIVE_INFINITY
  #flushTimer: NodeJS.Timeout | undefined
  #stopped = true

  constructor(config: CisternConfig, deps: SchedulerDeps, options: SchedulerOptions = {}) {
    this.#deps = deps
    this.#routes = new Map(config.routes.map((r) => [r.name, r]))
    this.#defaultPriority = config.refreshDefaults.priority
    this.#now = options.now ?? Date.now
    this.#options = {
      random: options.random ?? Math.random,
      resumeSpreadMs: options.resumeSpreadMs ?? 10_000,
      flushEveryMs: options.flushEveryMs ?? 5_000,
      maxKeys: options.maxKeys ?? 100_000,
    }
  }

  /** Load the durable schedule (overdue keys spread out with jitter) and start dispatching. */
  start(): void {
    const now = this.#now()
    for (const row of this.#deps.schedule.all()) {
      const route = this.#routes.get(row.route)
      if (!route?.refresh) {
        this.#deps.schedule.delete(row.key)
        continue
      }
      const every = route.refresh.every
      const spread = Math.min(every, this.#options.resumeSpreadMs)
      const dueAt = row.dueAt > now ? row.dueAt : now + this.#options.random() * spread
      this.#add({
        ...this.#newJob(row.key, route, every, dueAt, row.lastReadAt),
        reads: row.reads,
        failures: row.failures,
      })
    }
    this.#stopped = false
    this.#flushTimer = setInterval(() => this.flush(), this.#options.flushEveryMs)
    this.#flushTimer.unref()
    this.#pump()
  }

  /** A client read `key` on a route with a refresh policy. O(1): the gateway calls this on every hit. */
  onRead(key: string, route: RouteConfig): void {
    const job = this.#jobs.get(key)
    const now = this.#now()
    if (job) {
      job.lastReadAt = now
      job.reads++
      if (job.every === 0 && route.refresh) this.#keep(job, route)
      this.#dirty.add(job)
      return
    }
    // A key bound to a client's credentials can only be refreshed by that client.
    if (!route.refresh || key.includes('#auth=') || this.#jobs.size >= this.#options.maxKeys) return
    const added = this.#add(this.#newJob(key, route, route.refresh.every, now + route.refresh.every, now))
    added.reads = 1
    this.#persist(added)
    this.#deps.enrolled?.(key)
  }

  /**
   * Refresh these keys as soon as the budget allows (webhooks, POST /refresh): kept keys fall due
   * now; others run once at their route's priority. Resolves to how many were queued.
   */
  refreshKeys(keys: Iterable<string>, locate: (key: string) => RouteConfig | undefined): number {
    let queued = 0
    const now = this.#now()
    for (const key of keys) {
      let job = this.#jobs.get(key)
      if (!job) {
        const route = locate(key)
        if (!route?.cache || key.includes('#auth=')) continue
        job = this.#add(this.#newJob(key, route, 0, now, 0))
      } else if (job.running) job.again = true
      else {
        job.dueAt = Math.min(job.dueAt, now)
        this.#queueOf(job).push(job)
      }
      queued++
    }
    this.#pump()
    return queued
  }

  /** When a key is next refreshed, if it is scheduled. */
  nextRefresh(key: string): number | undefined {
    const job = this.#jobs.get(key)
    return job && !job.gone ? job.dueAt : undefined
  }

  snapshot(): SchedulerSnapshot {
    return snapshotOf(this.#jobs.values(), this.#stats, this.#now())
  }

  queue(limit = 100): QueueView {
    return queueView(this.#jobs.values(), this.#now(), limit)
  }

  /** Write batched reads to the schedule. */
  flush(): void {
    try {
      for (const job of this.#dirty)
        if (!job.gone && job.every > 0) this.#deps.schedule.touch(job.key, job.lastReadAt, job.reads)
    } catch (error) {
      this.#deps.onError?.(error, 'flush')
    }
    this.#dirty.clear()
  }

  /** Stop dispatching; resolves when running refreshes end or `graceMs` passes. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#timer)
    clearInterval(this.#flushTimer)
    this.flush()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs)
    })
    await Promise.race([Promise.allSettled([...this.#running]), deadline])
    clearTimeout(timer)
  }

  #newJob(key: string, route: RouteConfig, every: number, dueAt: number, lastReadAt: number): Job {
    const priority = route.refresh?.priority ?? this.#defaultPriority
    return {
      key,
      route,
      upstream: route.upstream,
      priority,
      every,
      dueAt,
      lastReadAt,
      reads: 0,
      failures: 0,
      running: false,
      again: false,
      gone: false,
      version: 0,
    }
  }

  #add(job: Job): Job {
    this.#jobs.set(job.key, job)
    this.#queueOf(job).push(job)
    if (job.dueAt < this.#wakeAt) this.#pump()
    return job
  }

  /** A one-shot key read on a refresh route becomes a kept key. */
  #keep(job: Job, route: RouteConfig): void {
    job.every = route.refresh!.every
    job.priority = route.refresh!.priority
    this.#persist(job)
  }

  #persist(job: Job): void {
    try {
      this.#deps.schedule.upsert({
        key: job.key,
        route: job.route.name,
        dueAt: job.dueAt,
        lastReadAt: job.lastReadAt,
        reads: job.reads,
      })
    } catch (error) {
      this.#deps.onError?.(error, 'persist')
    }
  }

  #drop(job: Job): void {
    job.gone = true
    this.#jobs.delete(job.key)
    this.#dirty.delete(job)
    if (job.every > 0) this.#deps.schedule.delete(job.key)
  }

  #queueOf(job: Job): UpstreamQueue {
    let queue = this.#queues.get(job.upstream)
    if (!queue) {
      queue = new UpstreamQueue(job.upstream, this.#deps.capOf(job.upstream))
      this.#queues.set(job.upstream, queue)
    }
    return queue
  }

  #pump(): void {
    if (this.#stopped) return
    const now = this.#now()
    let next = Number.POSITIVE_INFINITY
    for (const queue of this.#queues.values()) {
      while (queue.running < queue.cap) {
        const job = queue.popDue(now)
        if (!job) break
        this.#dispatch(queue, job, now)
      }
      if (queue.running < queue.cap) next = Math.min(next, queue.nextDueAt())
    }
    clearTimeout(this.#timer)
    this.#wakeAt = next
    if (Number.isFinite(next)) {
      this.#timer = setTimeout(() => this.#pump(), Math.max(0, next - now))
      this.#timer.unref()
    }
  }

  #dispatch(queue: UpstreamQueue, job: Job, now: number): void {
    const policy = job.route.refresh?.while
    if (job.every > 0 && policy) {
      const verdict = checkWhile(policy, {
        lastReadAt: job.lastReadAt,
        now,
        data: () => this.#deps.policyData(job),
      })
      if (!verdict.keep) {
        this.#drop(job)
        return
      }
    }
    this.#stats.dispatched(job.priority, now - job.dueAt)
    job.running = true
    queue.running++
    const started = now
    const done = this.#deps
      .run(job.key, job.route, job.every > 0)
      .then(
        (outcome) => this.#finish(job, started, outcome),
        (error: unknown) =>
          this.#finish(job, started, error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        queue.running--
        this.#running.delete(done)
        this.#pump()
      })
    this.#running.add(done)
  }

  #finish(job: Job, started: number, outcome: JobOutcome | Error): void {
    job.running = false
    // After stop() the schedule may be closed; the row keeps its due time for the next start.
    if (this.#stopped) return
    if (outcome instanceof Error) {
      this.#stats.count(job.priority, 'failed')
      job.failures++
    } else {
      this.#stats.count(job.priority, 'refreshed')
      if (outcome.kind === 'done' && outcome.change) this.#stats.count(job.priority, 'changed')
      job.failures = 0
    }
    if ((!(outcome instanceof Error) && outcome.kind === 'drop') || (job.every === 0 && !job.again)) {
      this.#drop(job)
      return
    }
    // Start to start: a refresh that took 300 ms does not push the next one 300 ms later. A failing
    // key backs off (doubling, up to a minute or its period) instead of retrying at full rate.
    const backoff = Math.max(job.every, Math.min(60_000, job.every * 2 ** Math.max(0, job.failures - 1)))
    job.dueAt = job.again ? this.#now() : started + backoff
    job.again = false
    if (job.every > 0) this.#deps.schedule.setDue(job.key, job.dueAt, job.failures)
    this.#queueOf(job).push(job)
  }
}
