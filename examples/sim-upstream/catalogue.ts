/**
 * A catalogue of many items whose data change at known, different rates: the workload of the
 * upstream-economy benchmark. `GET /catalogue/items/:id` answers an item (strong ETag, Last-Modified,
 * 304 on a match). Each item belongs to a change class (e.g. every minute, every 6 hours, never) and
 * changes as a Poisson process at its class's mean interval, on the sim's clock, from a seeded PRNG:
 * the same seed gives the same change times; version 0 was last modified before the start, as in a
 * catalogue that existed before its first client. The truth is queryable (`versionAt`, `changeAfter`), so
 * a client can say how stale the body it was served is; the catalogue also counts the body bytes it
 * sent against the fewest possible (a body only for a version that client was not sent yet).
 */

import { createRng, type Rng, subSeed } from './prng.js'
import { isNotModified, type Prepared, prepareJson } from './respond.js'
import type { Runtime } from './runtime.js'

export interface ChangeClass {
  name: string
  /** Share of the items in this class (the shares are normalised). */
  share: number
  /** Mean interval between changes, ms; null: never changes. */
  everyMs: number | null
}

export interface CatalogueOptions {
  /** Number of items, ids 0 … items − 1. */
  items: number
  classes: readonly ChangeClass[]
  seed?: number
  /** Size of an item's JSON body, bytes (default 1024). */
  bodyBytes?: number
}

export interface CatalogueStats {
  /** GETs of items answered. */
  answered: number
  /** Of those, 200 with a body, and 304. */
  bodies: number
  notModified: number
  bodyBytes: number
  /** Body bytes if a body had been sent only for a version not sent before (304 otherwise). */
  changeMinimumBytes: number
}

interface Item {
  cls: number
  rng: Rng
  /** Change times so far generated, ascending; extended on demand. */
  changes: number[]
  /** The last answer prepared, for its version. */
  prepared?: { version: number; p: Prepared }
  /** Highest version sent with a body. */
  sent: number
  /** When version 0 was last modified: before the catalogue's start (see `#before`). */
  modifiedBefore: number
}

const DAY_MS = 86_400_000

export class Catalogue {
  readonly classes: readonly ChangeClass[]
  readonly size: number
  readonly #start: number
  readonly #bodyBytes: number
  readonly #items: Item[]
  readonly #stats: CatalogueStats = {
    answered: 0,
    bodies: 0,
    notModified: 0,
    bodyBytes: 0,
    changeMinimumBytes: 0,
  }

  constructor(options: CatalogueOptions, start: number) {
    if (!Number.isInteger(options.items) || options.items < 1) throw new Error('catalogue: items must be ≥ 1')
    if (options.classes.length === 0) throw new Error('catalogue: at least one change class')
    const total = options.classes.reduce((sum, c) => sum + c.share, 0)
    if (!(total > 0) || options.classes.some((c) => !(c.share >= 0))) {
      throw new Error('catalogue: class shares must be ≥ 0 and add up to more than 0')
    }
    if (options.classes.some((c) => c.everyMs !== null && !(c.everyMs > 0))) {
      throw new Error('catalogue: a class changes every > 0 ms, or never (null)')
    }
    this.classes = options.classes
    this.size = options.items
    this.#start = start
    this.#bodyBytes = Math.max(128, options.bodyBytes ?? 1024)
    const seed = options.seed ?? 2025
    const assign = createRng(subSeed(seed, 'classes'))
    const bounds: number[] = []
    let acc = 0
    for (const c of options.classes) {
      acc += c.share / total
      bounds.push(acc)
    }
    this.#items = Array.from({ length: options.items }, (_, id) => {
      const u = assign.next()
      const cls = Math.max(
        0,
        bounds.findIndex((b) => u < b),
      )
      const modifiedBefore = this.#before(options.classes[cls]!, createRng(subSeed(seed, `before:${id}`)))
      return { cls, rng: createRng(subSeed(seed, `item:${id}`)), changes: [], sent: -1, modifiedBefore }
    })
  }

  /** The item's change class (an index into `classes`). */
  classOf(id: number): number {
    return this.#item(id).cls
  }

  /** How many changes the item has had by `at` (its version then). */
  versionAt(id: number, at: number): number {
    const item = this.#item(id)
    this.#extend(item, at)
    // Binary search: the number of change times ≤ at.
    let lo = 0
    let hi = item.changes.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (item.changes[mid]! <= at) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** When the item left `version` (the first change a body of that version lacks); Infinity if not by `until`. */
  changeAfter(id: number, version: number, until: number): number {
    const item = this.#item(id)
    this.#extend(item, until)
    const at = item.changes[version]
    return at !== undefined && at <= until ? at : Number.POSITIVE_INFINITY
  }

  /** Change times of the item up to `until` (ascending). */
  changesUntil(id: number, until: number): readonly number[] {
    const item = this.#item(id)
    this.#extend(item, until)
    return item.changes.filter((at) => at <= until)
  }

  stats(): CatalogueStats {
    return { ...this.#stats }
  }

  /** The answer for item `id` at `now`, counted as sent to a client with `headers`. */
  answer(
    id: number,
    now: number,
    headers: Record<string, string | string[] | undefined>,
    rt: Runtime,
  ): Prepared {
    const item = this.#item(id)
    const version = this.versionAt(id, now)
    if (item.prepared?.version !== version) item.prepared = { version, p: this.#prepare(id, item, version) }
    const p = item.prepared.p
    this.#stats.answered++
    if (isNotModified(headers, p, rt)) this.#stats.notModified++
    else {
      this.#stats.bodies++
      this.#stats.bodyBytes += p.body.length
      if (version > item.sent) {
        this.#stats.changeMinimumBytes += p.body.length
        item.sent = version
      }
    }
    return p
  }

  #prepare(id: number, item: Item, version: number): Prepared {
    const modified = version === 0 ? item.modifiedBefore : item.changes[version - 1]!
    const head = { id, version, modifiedAt: new Date(modified).toISOString() }
    const filler = Math.max(0, this.#bodyBytes - JSON.stringify({ ...head, data: '' }).length)
    const data = `${version.toString(36)}:`.padEnd(filler, String.fromCharCode(97 + (id % 26)))
    return prepareJson(200, { ...head, data }, modified, [`item:${id}`])
  }

  /**
   * The last change before the start: a real catalogue existed before its first client, so version 0
   * was last modified some time earlier, drawn from the item's own process (by memorylessness the time
   * back to its last change is exponential at its class's mean; an item that never changes was last
   * modified 30 to 365 days ago). From its own random stream, so every change time after the start, and
   * whatever is measured against them, is the same as without it.
   */
  #before(cls: ChangeClass, rng: Rng): number {
    const u = rng.next()
    const ago = cls.everyMs === null ? (30 + 335 * u) * DAY_MS : -Math.log(1 - u) * cls.everyMs
    return this.#start - ago
  }

  #item(id: number): Item {
    const item = this.#items[id]
    if (!item) throw new RangeError(`no item ${id}`)
    return item
  }

  /** Draw change times (exponential gaps) until one lies past `until`. */
  #extend(item: Item, until: number): void {
    const every = this.classes[item.cls]!.everyMs
    if (every === null) return
    let last = item.changes.at(-1) ?? this.#start
    while (last <= until) {
      last += -Math.log(1 - item.rng.next()) * every
      item.changes.push(last)
    }
  }
}
