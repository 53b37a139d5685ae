import type { Priority } from '../config/types.js'
import type { LagStats } from './lag-stats.js'
import type { Job } from './queue.js'
import {
  PRIORITIES,
  type PriorityStats,
  type QueueView,
  type SchedulerSnapshot,
  type WhileErrorItem,
} from './types.js'

/** Counts, current lag and recent lag per priority. O(keys): for the admin API and scrapes. */
export function snapshotOf(jobs: Iterable<Job>, stats: LagStats, now: number): SchedulerSnapshot {
  const byPriority = {} as Record<Priority, PriorityStats>
  for (const p of PRIORITIES) {
    byPriority[p] = {
      scheduled: 0,
      due: 0,
      running: 0,
      lagMs: 0,
      recentLag: stats.recent(p),
      ...stats.counters(p),
    }
  }
  let keys = 0
  let running = 0
  for (const job of jobs) {
    const lane = byPriority[job.priority]
    keys++
    lane.scheduled++
    if (job.running) {
      lane.running++
      running++
    } else if (job.dueAt <= now) {
      lane.due++
      lane.lagMs = Math.max(lane.lagMs, now - job.dueAt)
    }
  }
  return { at: now, keys, running, byPriority }
}

/** The soonest `limit` refreshes and, per priority, how many are due and how late the oldest is. */
export function queueView(jobs: Iterable<Job>, now: number, limit: number): QueueView {
  const every = [...jobs]
  const all = every.filter((job) => !job.running)
  all.sort((a, b) => a.dueAt - b.dueAt)
  const priorities: QueueView['priorities'] = {}
  for (const job of all) {
    if (job.dueAt > now) break
    const lane = priorities[job.priority] ?? { depth: 0, lagMs: 0 }
    priorities[job.priority] = lane
    lane.depth++
    lane.lagMs = Math.max(lane.lagMs, now - job.dueAt)
  }
  const items = all.slice(0, limit).map((job) => ({
    key: job.key,
    route: job.route.name,
    priority: job.priority,
    dueAt: job.dueAt,
    ...(job.whileError && { whileError: job.whileError.message }),
  }))
  const whileErrors: WhileErrorItem[] = []
  for (const job of every) {
    if (whileErrors.length >= limit) break
    if (job.whileError) {
      const { message: error, since } = job.whileError
      whileErrors.push({ key: job.key, route: job.route.name, error, since })
    }
  }
  return { items, priorities, whileErrors }
}
