import type { RouteConfig } from '../config/types.js'
import { asItemId } from './diff.js'
import type { RefreshHost } from './host.js'
import type { ItemId } from './types.js'

export interface WarmStats {
  warmed: number
  failed: number
  /** Paths not warmed because the queue was full or no cached route answers them. */
  skipped: number
  pending: number
}

/**
 * The gateway paths a new version `body` warms: each `warm.path` once (no `each`), or once per item of
 * `warm.each`: only items whose `changes.id` is in `changedIds` (the added and changed ids of an
 * item-level diff), unless `all: true` or there is no item-level diff (`changedIds` undefined: a
 * whole-body change, or a key's first version, where every item is new).
 */
export function warmPaths(
  route: RouteConfig,
  params: Record<string, string>,
  body: unknown,
  changedIds: ReadonlySet<ItemId> | undefined,
): string[] {
  const warm = route.warm
  if (!warm) return []
  const base = { ...params, params, body }
  const encode = encodeURIComponent
  const paths = new Set<string>()
  const render = (vars: Record<string, unknown>) => {
    for (const template of warm.paths) {
      const path = template.render(vars, encode)
      if (path !== undefined) paths.add(path)
    }
  }
  if (!warm.each) {
    render(base)
    return [...paths]
  }
  let items: unknown[]
  try {
    items = warm.each.list({ body, params, now: Date.now() })
  } catch {
    return []
  }
  const id = route.changes?.id
  if (!warm.all && changedIds && id) {
    items = items.filter((item) => {
      try {
        const value = asItemId(id.evaluate({ item, body, params }))
        return value === undefined || changedIds.has(value)
      } catch {
        return true
      }
    })
  }
  for (const item of items) render({ ...base, item })
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
  readonly #onWarmed: ((key: string, first: boolean) => void) | undefined
  #running = 0
  #closed = false
  readonly #stats = { warmed: 0, failed: 0, skipped: 0 }

  /**
   * `onWarmed(key, first)`: the cache holds `key` because it was warmed (fetched now, or already held
   * for a prewarm); `first` when this fetch brought its first copy.
   */
  constructor(
    host: RefreshHost,
    options: {
      concurrency?: number
      maxPending?: number
      onWarmed?: (key: string, first: boolean) => void
    } = {},
  ) {
    this.#host = host
    this.#concurrency = options.concurrency ?? 2
    this.#maxPending = options.maxPending ?? 1000
    this.#onWarmed = options.onWarmed
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
      const held = (await this.#host.peek(key)) !== undefined
      if (ifMissing && held) {
        this.#onWarmed?.(key, false)
        return
      }
      const outcome = await this.#host.refreshKey(key)
      if (outcome.kind === 'refreshed') {
        this.#stats.warmed++
        if (outcome.result.stored) this.#onWarmed?.(key, !held)
      } else this.#stats.skipped++
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
