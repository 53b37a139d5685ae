import type { Priority, RouteConfig } from '../config/types.js'
import type { Job } from './queue.js'
import type { ScheduleStore } from './schedule-store.js'

export function newJob(
  key: string,
  route: RouteConfig,
  priority: Priority,
  every: number,
  dueAt: number,
  lastReadAt: number,
): Job {
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
    observedAt: lastReadAt,
  }
}

/**
 * Keys that fell due while cistern was down are spread at random over min(every, spreadMs), so a
 * restart is not a thundering herd; keys not yet due keep their time.
 */
export function resumedDueAt(
  dueAt: number,
  every: number,
  now: number,
  spreadMs: number,
  random: () => number,
) {
  return dueAt > now ? dueAt : now + random() * Math.min(every, spreadMs)
}

/**
 * Start to start: a refresh that took 300 ms does not push the next one 300 ms later. A failing key
 * backs off (doubling from its period, up to a minute unless the period is longer) instead of
 * retrying at full rate.
 */
export function nextDueAt(job: Job, started: number): number {
  const factor = 2 ** Math.max(0, job.failures - 1)
  return started + Math.max(job.every, Math.min(60_000, job.every * factor))
}

/**
 * The scheduler's writes to the durable schedule. Reads are batched (flush), everything else is
 * written at once; a failing write is reported, never thrown into the request path.
 */
export class ScheduleWriter {
  readonly #store: ScheduleStore
  readonly #onError: (error: unknown, what: string) => void
  readonly #dirty = new Set<Job>()

  constructor(store: ScheduleStore, onError: (error: unknown, what: string) => void) {
    this.#store = store
    this.#onError = onError
  }

  /** Insert or replace the key's row. */
  persist(job: Job): void {
    this.#try('persist', () =>
      this.#store.upsert({
        key: job.key,
        route: job.route.name,
        dueAt: job.dueAt,
        lastReadAt: job.lastReadAt,
        reads: job.reads,
        ...(job.rate && { rate: job.rate }),
      }),
    )
  }

  /** A read, written at the next flush. */
  touched(job: Job): void {
    this.#dirty.add(job)
  }

  rescheduled(job: Job): void {
    if (job.every > 0)
      this.#try('reschedule', () => this.#store.setDue(job.key, job.dueAt, job.failures, job.rate))
  }

  dropped(job: Job): void {
    this.#dirty.delete(job)
    if (job.every > 0) this.#try('drop', () => this.#store.delete(job.key))
  }

  flush(): void {
    for (const job of this.#dirty) {
      if (!job.gone && job.every > 0)
        this.#try('flush', () => this.#store.touch(job.key, job.lastReadAt, job.reads))
    }
    this.#dirty.clear()
  }

  #try(what: string, write: () => void): void {
    try {
      write()
    } catch (error) {
      this.#onError(error, what)
    }
  }
}
