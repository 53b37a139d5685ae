import type { Priority, RouteConfig } from '../config/types.js'
import type { ChangeRate } from './change-rate.js'
import { Heap } from './heap.js'
import { PRIORITIES } from './types.js'

/** One key the scheduler knows: kept warm (`every` > 0) or refreshed once on request. */
export interface Job {
  key: string
  route: RouteConfig
  upstream: string
  priority: Priority
  /** Period, ms; 0 for a one-shot refresh (webhooks, POST /refresh) of a key not kept warm. */
  every: number
  dueAt: number
  lastReadAt: number
  reads: number
  failures: number
  running: boolean
  /** A refresh was asked for while one was running: run again as soon as it ends. */
  again: boolean
  /**
   * Asked for now (webhook, operator, POST /refresh) rather than fallen due: the next refresh calls the
   * upstream whatever the copy's age, and with a Coordination it takes over another instance's 'done'
   * marker, since what was asked for may be newer than that refresh.
   */
  forced?: boolean
  /** Left the schedule; queued heap nodes for it are skipped. */
  gone: boolean
  /** Bumped on every push, so a key re-queued earlier or later leaves only one live node. */
  version: number
  /** Why its `while` condition could not be evaluated last time (the key stays scheduled meanwhile). */
  whileError?: { message: string; since: number }
  /** `every: adaptive`: the key's learned change rate; `every` follows its interval. */
  rate?: ChangeRate
  /** An adaptive key's moving average of reads per ms, and `reads` and the time at its last dispatch. */
  readRate?: number
  readsAtDispatch?: number
  dispatchedAt?: number
  /** When its last version was seen (enrolment, then each refresh start): the next finding's span. */
  observedAt: number
}

interface Node {
  job: Job
  version: number
  dueAt: number
  grain: number
  reads: number
}

/**
 * Keys due within the same grain count as equally overdue, so popularity decides among them; a
 * finer order would make popularity a tie-break that never fires.
 */
export const OVERDUE_GRAIN_MS = 250

const before = (a: Node, b: Node) =>
  a.grain !== b.grain ? a.grain < b.grain : a.reads !== b.reads ? a.reads > b.reads : a.dueAt < b.dueAt

/**
 * The queue of one upstream (budgets are per upstream, so each orders its own work): one heap per
 * priority; a due critical key always goes before a due high one, however overdue the latter.
 */
export class UpstreamQueue {
  readonly name: string
  /** Refreshes allowed in flight: enough to keep the budget busy, few enough to keep priority order. */
  readonly cap: number
  running = 0
  readonly #heaps = new Map<Priority, Heap<Node>>(PRIORITIES.map((p) => [p, new Heap<Node>(before)]))

  constructor(name: string, cap: number) {
    this.name = name
    this.cap = cap
  }

  push(job: Job): void {
    job.version++
    const node = {
      job,
      version: job.version,
      dueAt: job.dueAt,
      grain: Math.floor(job.dueAt / OVERDUE_GRAIN_MS),
      reads: job.reads,
    }
    this.#heaps.get(job.priority)!.push(node)
  }

  /** The most urgent due job, or undefined. */
  popDue(now: number): Job | undefined {
    for (const priority of PRIORITIES) {
      const top = this.#top(priority)
      if (top && top.dueAt <= now) {
        this.#heaps.get(priority)!.pop()
        return top.job
      }
    }
    return undefined
  }

  /** When the next job falls due (Infinity when none is queued). */
  nextDueAt(): number {
    let next = Number.POSITIVE_INFINITY
    for (const priority of PRIORITIES) next = Math.min(next, this.#top(priority)?.dueAt ?? next)
    return next
  }

  /** Live queued jobs of a priority (for snapshots; O(n)). */
  queued(priority: Priority): Job[] {
    return this.#heaps
      .get(priority)!
      .values()
      .filter((node) => isLive(node))
      .map((node) => node.job)
  }

  #top(priority: Priority): Node | undefined {
    const heap = this.#heaps.get(priority)!
    let top = heap.peek()
    while (top && !isLive(top)) {
      heap.pop()
      top = heap.peek()
    }
    return top
  }
}

const isLive = (node: Node) => node.version === node.job.version && !node.job.gone && !node.job.running
