import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type SimOptions, type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { type Cistern, type StartOptions, startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'

export interface RefreshHarness {
  sim: SimUpstream
  cistern: Cistern
  url: string
  dir: string
  /** The first live event of the current season. */
  live: { season: number; event: string }
  get(path: string): Promise<Response>
  /** Stop cistern only (the sim and the directory stay), then start it again on the same files, optionally with another config. */
  restart(yaml?: string): Promise<void>
  close(): Promise<void>
}

/**
 * The simulated upstream and cistern (no admin listener) with a SQLite store in a temp dir. In `yaml`,
 * ${SIM_URL} is the upstream and ${DB} the store; `extraEnv` adds more variables (receiver URLs).
 */
export async function startRefreshHarness(
  yaml: string,
  options: { sim?: SimOptions; start?: StartOptions; env?: Record<string, string> } = {},
): Promise<RefreshHarness> {
  const sim = await startSimUpstream({ changeEveryMs: false, ...options.sim })
  const dir = await mkdtemp(join(tmpdir(), 'cistern-refresh-'))
  const env = { SIM_URL: sim.apiUrl, DB: join(dir, 'cache.db'), ...options.env }
  const parse = (text: string) => parseConfig(`listen: 127.0.0.1:0\n${text}`, join(dir, 'cistern.yaml'), env)
  const start = (text = yaml) => startCistern(parse(text), { admin: false, ...options.start })
  const liveEvent = sim.liveEvents()[0]
  if (!liveEvent) throw new Error('the simulator has no live event')
  let cistern: Cistern
  try {
    cistern = await start()
  } catch (error) {
    await sim.close()
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  const h: RefreshHarness = {
    sim,
    cistern,
    url: '',
    dir,
    live: { season: liveEvent.season, event: liveEvent.code },
    get: (path) => fetch(h.cistern.url + path),
    async restart(next) {
      await h.cistern.close(500)
      h.cistern = await start(next)
      h.url = h.cistern.url
    },
    async close() {
      await h.cistern.close(500)
      await sim.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
  h.url = h.cistern.url
  return h
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
