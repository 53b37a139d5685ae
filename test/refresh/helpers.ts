import type { SimOptions } from '../../examples/sim-upstream/index.js'
import type { StartOptions } from '../../src/app/cistern.js'
import { type Harness, startHarness } from '../gateway/harness.js'

export interface RefreshHarness extends Harness {
  /** The first live event of the current season. */
  live: { season: number; event: string }
}

/**
 * The gateway harness without the admin listener, plus the simulator's first live event. In `yaml`,
 * ${SIM_URL} is the upstream and ${CISTERN_DB} the store; `env` adds more variables (receiver URLs).
 */
export async function startRefreshHarness(
  yaml: string,
  options: { sim?: SimOptions; start?: StartOptions; env?: Record<string, string> } = {},
): Promise<RefreshHarness> {
  const h = await startHarness({
    yaml,
    ...(options.sim && { sim: options.sim }),
    ...(options.env && { env: options.env }),
    start: () => ({ admin: false, ...options.start }),
  })
  const liveEvent = h.sim.liveEvents()[0]
  if (!liveEvent) {
    await h.close()
    throw new Error('the simulator has no live event')
  }
  return Object.assign(h, { live: { season: liveEvent.season, event: liveEvent.code } })
}

/** Poll `check` every `everyMs` until it returns a value, or throw after `timeoutMs`. */
export async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The newest `modifiedAt` among a matches body's items (ms). */
export function newestModified(body: { matches: { modifiedAt: string }[] }): number {
  return Math.max(0, ...body.matches.map((m) => Date.parse(m.modifiedAt)))
}

export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}
