import type { RouteConfig } from '../config/types.js'
import { withDeadline } from '../util/deadline.js'
import type { Timers } from '../util/timers.js'
import type { LagStats } from './lag-stats.js'
import { checkWhile, HOT_READS_PER_REFRESH, keptWhile, nextReadRate, type PolicyContext } from './policy.js'
import { type Job, UpstreamQueue } from './queue.js'
import type { JobOutcome } from './refresh-job.js'

export interface DispatcherDeps {
  now: () => number
  /** Wakes the loop when the next key falls due, on the `now` clock. */
  timers: Timers
  stats: LagStats
  /**
   * `job`: the claim across instances reads whether it was forced. `skipYoungerThan`: no call when
   * the cache's copy is younger than this (ms; 0: always call).
   */
  run: (
    key: string,
    route: RouteConfig,
    kept: boolean,
    job: Job,
    skipYoungerThan: number,
  ) => Promise<JobOutcome>
  /** Body, params and headers of the last version seen, for CEL `while`. */
  policyData: (job: Job) => ReturnType<PolicyContext['data']>
  /** In-flight cap per upstream. */
  capOf: (upstream: string) => number
  /** The key leaves the schedule (policy said no, no route, or a one-shot refresh is done). */
  drop: (job: Job) => void
  /**
   * A refresh ended and the key stays: set its next due time and re-queue it. `changed`: whether the
   * version seen differs from the last one (undefined when it failed or compared nothing: only a
   * defined one is observed by the adaptive learner); `fetchedAt`: when that version was fetched,
   * when not by this refresh (a client's fetch made the call unnecessary).
   */
  reschedule: (job: Job, started: number, changed: boolean | undefined, fetchedAt?: number) => void
  /** Another instance refreshes the key (or just did): look again in `retryInMs`. */
  defer: (job: Job, retryInMs: number) => void
  /** A kept key's `while` could not be evaluated, for the first time or with a new error. */
  whileFailed: (job: Job, message: string) => void
}

/**
 * The dispatch loop: one queue per upstream, refreshes started while the upstream has a free slot,
 * one timer set to the next due time. A key is never dispatched while its refresh runs (it is out of
 * the queue until it finishes), so one key never has two refreshes at once.
 */
export class Dispatcher {
  readonly #deps: DispatcherDeps
  readonly #queues = new Map<string, UpstreamQueue>()
  readonly #running = new Set<Promise<void>>()
  #timer: unknown
  #wakeAt = Number.POSITIVE_INFINITY
  #stopped = true

  constructor(deps: DispatcherDeps) {
    this.#deps = deps
  }

  get stopped(): boolean {
    return this.#stopped
  }

  /** Queue (or re-queue at its new due time) a job. */
  push(job: Job): void {
    this.queueOf(job).push(job)
    if (job.dueAt < this.#wakeAt) this.pump()
  }

  queueOf(job: Job): UpstreamQueue {
    let queue = this.#queues.get(job.upstream)
    if (!queue) {
      queue = new UpstreamQueue(job.upstream, this.#deps.capOf(job.upstream))
      this.#queues.set(job.upstream, queue)
    }
    return queue
  }

  start(): void {
    this.#stopped = false
    this.pump()
  }

  /** Stop dispatching; resolves when running refreshes end or `graceMs` passes. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true
    this.#deps.timers.clear(this.#timer)
    // The grace period is real time (someone is waiting for the process to stop), whatever `now` says.
    await withDeadline(Promise.allSettled([...this.#running]), graceMs, () => undefined)
  }

  pump(): void {
    if (this.#stopped) return
    const now = this.#deps.now()
    let next = Number.POSITIVE_INFINITY
    for (const queue of this.#queues.values()) {
      while (queue.running < queue.cap) {
        const job = queue.popDue(now)
        if (!job) break
        this.#dispatch(queue, job, now)
      }
      if (queue.running < queue.cap) next = Math.min(next, queue.nextDueAt())
    }
    this.#deps.timers.clear(this.#timer)
    this.#timer = undefined
    this.#wakeAt = next
    // The timers clamp a wake-up past setTimeout's ceiling (about 24.8 days); pump() then re-arms.
    if (Number.isFinite(next)) this.#timer = this.#deps.timers.set(() => this.pump(), next - now)
  }

  #dispatch(queue: UpstreamQueue, job: Job, now: number): void {
    const configured = job.route.refresh?.while
    const policy = configured && keptWhile(configured, job.rate?.intervalMs)
    if (job.every > 0 && policy) {
      const data = () => this.#deps.policyData(job)
      const verdict = checkWhile(policy, { lastReadAt: job.lastReadAt, now, data })
      if (verdict.keep === false || !this.#stillHot(job, policy, now)) {
        this.#deps.drop(job)
        return
      }
      if (verdict.keep === undefined) {
        // No decision: the key stays on its last one (it is scheduled, so: keep), reported once per error.
        if (job.whileError?.message !== verdict.error) {
          job.whileError = { message: verdict.error, since: now }
          this.#deps.whileFailed(job, verdict.error)
        }
      } else job.whileError = undefined
    }
    this.#deps.stats.dispatched(job.priority, now - job.dueAt)
    job.running = true
    queue.running++
    // An adaptive key's refresh is only worth a call when its copy is a period old; a forced one always is.
    const skipYoungerThan = job.rate && !job.forced ? job.every : 0
    const done = this.#deps
      .run(job.key, job.route, job.every > 0, job, skipYoungerThan)
      .then(
        (outcome) => this.#finish(job, now, outcome),
        (error: unknown) => this.#finish(job, now, error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        queue.running--
        this.#running.delete(done)
        this.pump()
      })
    this.#running.add(done)
  }

  /** An adaptive `while: hot` key is kept while clients read it several times per refresh interval. */
  #stillHot(job: Job, policy: { kind: string }, now: number): boolean {
    if (!job.rate || policy.kind !== 'hot' || job.forced) return true
    const since = job.dispatchedAt ?? job.observedAt
    // A look again soon after the last (another instance held the claim: it retries in 250 ms) is
    // too short a sample: a few hundred ms with no read, averaged in, would halve the rate each time.
    // The rate is measured over at least half a period; until then the last verdict stands.
    if (job.readRate !== undefined && now - since < job.every / 2)
      return job.readRate * job.every >= HOT_READS_PER_REFRESH
    job.readRate = nextReadRate(job.readRate, job.reads - (job.readsAtDispatch ?? 0), now - since)
    job.readsAtDispatch = job.reads
    job.dispatchedAt = now
    return job.readRate * job.every >= HOT_READS_PER_REFRESH
  }

  #finish(job: Job, started: number, outcome: JobOutcome | Error): void {
    job.running = false
    // After stop() the schedule may be closed; the row keeps its due time for the next start.
    if (this.#stopped) return
    if (!(outcome instanceof Error) && outcome.kind === 'busy') {
      this.#deps.defer(job, outcome.retryInMs)
      return
    }
    const { stats } = this.#deps
    if (outcome instanceof Error) {
      stats.count(job.priority, 'failed')
      job.failures++
    } else {
      stats.count(job.priority, 'refreshed')
      if (outcome.kind === 'done' && outcome.change) stats.count(job.priority, 'changed')
      job.failures = 0
    }
    const dropped = !(outcome instanceof Error) && outcome.kind === 'drop'
    if (dropped || (job.every === 0 && !job.again)) this.#deps.drop(job)
    else {
      if (outcome instanceof Error || outcome.kind !== 'done') this.#deps.reschedule(job, started, undefined)
      else this.#deps.reschedule(job, started, outcome.changed, outcome.fetchedAt)
    }
  }
}
