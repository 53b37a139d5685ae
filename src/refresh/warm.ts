import type { RouteConfig } from '../config/types.js'
import type { DetectedChange } from './change.js'
import { asItemId } from './diff.js'
import type { RefreshHost } from './host.js'

export interface WarmStats {
  warmed: number
  failed: number
  /** Paths not warmed because the queue was full or no cached route answers them. */
  skipped: number
  pending: number
}

/**
 * The gateway paths a change warms: `warm.path` once (no `each`), or once per item of `warm.each`:
 * only items whose `changes.id` is among the added or changed ids, unless `all: true` or the change
 * has no item-level diff.
 */
export function warmPaths(
  route: RouteConfig,
  params: Record<string, string>,
  change: DetectedChange,
): string[] {
  const warm = route.warm
  if (!warm) return []
  const body = change.nextBody
  const base = { ...params, params, body }
  const encode = encodeURIComponent
  if (!warm.each) {
    const path = warm.path.render(base, encode)
    return path === undefined ? [] : [path]
  }
  let items: unknown[]
  try {
    items = warm.each.list({ body, params, now: Date.now() })
  } catch {
    return []
  }
  const id = route.changes?.id
  if (!warm.all && change.items && id) {
    const wanted = new Set([...change.event.added, ...change.event.changed])
    items = items.filter((item) => {
      try {
        const value = asItemId(id.evaluate({ item, body, params }))
        return value === undefined || wanted.has(value)
      } catch {
        return true
      }
    })
  }
  const paths = new Set<string>()
  for (const item of items) {
    const path = warm.path.render({ ...base, item }, encode)
    if (path !== undefined) paths.add(path)
  }
  return [...paths]
}

/**
 * Fetches warm and prewarm paths in the background lane, a few at a time, each key once however
 * often it is asked for while queued. Bounded: past `maxPending` new paths are skipped (and counted).
 */
export class Warmer {
  readonly #host: RefreshHost
  readonly #concurrency: number
  readonly #maxPending: number
  readonly #queue: { key: string; ifMissing: boolean }[] = []
  readonly #queued = new Set<string>()
  readonly #idle: (() => void)[] = []
  #running = 0
  #closed = false
  readonly #stats = { warmed: 0, failed: 0, skipped: 0 }

  constructor(host: RefreshHost, options: { concurrency?: number; maxPending?: number } = {}) {
    this.#host = host
    this.#concurrency = options.concurrency ?? 2
    this.#maxPending = options.maxPending ?? 1000
  }

  /** Queue gateway paths; `ifMissing` skips keys the cache already holds (prewarm). */
  warm(paths: readonly string[], ifMissing = false): void {
    for (const path of paths) {
      const key = this.#host.keyOfPath(path)
      if (key === undefined || this.#closed || this.#queued.size >= this.#maxPending) {
        this.#stats.skipped++
        continue
      }
      if (this.#queued.has(key)) continue
      this.#queued.add(key)
      this.#queue.push({ key, ifMissing })
    }
    this.#pump()
  }

  stats(): WarmStats {
    return { ...this.#stats, pending: this.#queued.size }
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  close(): void {
    this.#closed = true
    this.#queue.length = 0
    this.#queued.clear()
    this.#settle()
  }

  #pump(): void {
    while (!this.#closed && this.#running < this.#concurrency && this.#queue.length > 0) {
      const item = this.#queue.shift()!
      this.#running++
      void this.#one(item).finally(() => {
        this.#running--
        this.#pump()
        this.#settle()
      })
    }
  }

  async #one({ key, ifMissing }: { key: string; ifMissing: boolean }): Promise<void> {
    try {
      if (ifMissing && (await this.#host.peek(key))) return
      const outcome = await this.#host.refreshKey(key)
      if (outcome.kind === 'refreshed') this.#stats.warmed++
      else this.#stats.skipped++
    } catch {
      this.#stats.failed++
    } finally {
      this.#queued.delete(key)
    }
  }

  #settle(): void {
    if (this.#running > 0 || this.#queue.length > 0) return
    for (const resolve of this.#idle.splice(0)) resolve()
  }
}
