import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type SimOptions, type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { type Cistern, type StartOptions, startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import type { CisternConfig } from '../../src/config/types.js'
import type { Gateway } from '../../src/gateway/gateway.js'
import { createCisternLogger } from '../../src/log/index.js'
import type { FakeClock } from '../support/fake-clock.js'

export interface Harness {
  sim: SimUpstream
  cistern: Cistern
  gateway: Gateway
  config: CisternConfig
  url: string
  dir: string
  get(path: string, headers?: Record<string, string>): Promise<Response>
  /** Stop cistern only (the simulator and the files stay), then start it again, optionally on another config. */
  restart(yaml?: string): Promise<void>
  close(): Promise<void>
}

export interface HarnessOptions {
  sim?: SimOptions
  /** Defaults to examples/demo.yaml; SIM_URL, CISTERN_DB and friends point it at this run. */
  yaml?: string
  now?: () => number
  /**
   * Run cistern (its `now` and the timers of budgets, scheduler and notify retries) and the
   * simulator (its `now` and `changeEveryMs`) on this clock instead of the real one; instead of `now`.
   */
  clock?: FakeClock
  env?: Record<string, string>
  /** startCistern options derived from the parsed config (a logger, admin options...). */
  start?: (config: CisternConfig) => StartOptions
}

/**
 * A simulated upstream and cistern in front of it, on random loopback ports, with a SQLite store in
 * a temp dir. Logs are silent unless CISTERN_TEST_LOG names a level.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { clock } = options
  const sim = await startSimUpstream({
    changeEveryMs: false,
    ...options.sim,
    ...(clock && { now: clock.now, changeEveryMs: false }),
  })
  const stopChanges = clock && changesOnClock(sim, clock, options.sim?.changeEveryMs)
  const dir = await mkdtemp(join(tmpdir(), 'cistern-gw-'))
  const yaml = options.yaml ?? (await readFile(new URL('../../examples/demo.yaml', import.meta.url), 'utf8'))
  const env = {
    SIM_URL: sim.apiUrl,
    SIM_ROOT: sim.url,
    CISTERN_LISTEN: '127.0.0.1:0',
    CISTERN_ADMIN_LISTEN: '127.0.0.1:0',
    CISTERN_DB: join(dir, 'cache.db'),
    ...options.env,
  }
  const load = (text: string) => {
    const parsed = parseConfig(text, join(dir, 'cistern.yaml'), env)
    // Test files run in parallel: every listener they open takes a free port, whatever the YAML says.
    return {
      ...parsed,
      listen: { ...parsed.listen, port: 0 },
      admin: { ...parsed.admin, listen: { ...parsed.admin.listen, port: 0 } },
    }
  }
  const level = (process.env.CISTERN_TEST_LOG ?? 'silent') as 'silent'
  const start = async (config: CisternConfig) => {
    const cistern = await startCistern(config, {
      logger: createCisternLogger(config, { level }),
      ...(options.now && { now: options.now }),
      ...(clock && { now: clock.now, timers: clock }),
      ...options.start?.(config),
    })
    Object.assign(h, { cistern, gateway: cistern.gateway, config, url: cistern.url })
  }
  const h: Harness = {
    sim,
    dir,
    get: (path, headers = {}) => fetch(h.url + path, { headers }),
    async restart(next = yaml) {
      await h.cistern.close(500)
      await start(load(next))
    },
    async close() {
      stopChanges?.()
      await h.cistern.close(1000)
      await sim.close()
      await rm(dir, { recursive: true, force: true })
    },
  } as Harness // cistern, gateway, config and url are filled in by start() below, before anyone sees h
  try {
    await start(load(yaml))
  } catch (error) {
    stopChanges?.()
    await sim.close()
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return h
}

/** The simulator's live changes every `everyMs` of the fake clock; returns the function that stops them. */
function changesOnClock(sim: SimUpstream, clock: FakeClock, everyMs: number | false | undefined): () => void {
  if (!everyMs) return () => {}
  let timer: unknown
  const tick = () => {
    sim.tick()
    timer = clock.set(tick, everyMs)
  }
  timer = clock.set(tick, everyMs)
  return () => clock.clear(timer)
}
