import type { IncomingMessage, ServerResponse } from 'node:http'
/** The simulated upstream's lifecycle: listener, modes (incl. re-listening on the same port), timers. */
import { type ControlTarget, handleControl } from './control.js'
import { SimDb } from './db.js'
import { RateLimiter } from './guard.js'
import { handleRequest, type SimCore } from './handler.js'
import { Listener } from './listener.js'
import { applySettings, describeRuntime, type Runtime, runtimeFrom, validateSettings } from './runtime.js'
import { StatsCollector } from './stats.js'
import type {
  SimCall,
  SimChange,
  SimEventInfo,
  SimMode,
  SimOptions,
  SimSettings,
  SimStats,
  SimTickResult,
} from './types.js'

export class Sim implements ControlTarget {
  private readonly core: SimCore
  private readonly listener: Listener
  private readonly timers = new Set<NodeJS.Timeout>()
  private changeTimer: NodeJS.Timeout | undefined
  private revertTimer: NodeJS.Timeout | undefined
  private queue: Promise<void> = Promise.resolve()
  private closed = false

  constructor(options: SimOptions) {
    const now = options.now ?? Date.now
    const rt: Runtime = runtimeFrom(options)
    const db = new SimDb(
      {
        seed: options.seed ?? 2025,
        seasons: options.seasons ?? [2024, 2025],
        teamsPerSeason: options.teamsPerSeason ?? 48,
      },
      now,
      Math.max(1, options.newMatchEveryTicks ?? 3),
    )
    this.core = {
      rt,
      db,
      stats: new StatsCollector(Math.max(1, options.callLogSize ?? 500)),
      limiter: new RateLimiter(),
      memo: { generation: -1, map: new Map() },
      now,
      schedule: (fn, ms) => this.schedule(fn, ms),
      control: (req, res, url) => {
        handleControl(this, req, res, url).catch(() => res.destroy())
      },
    }
    const handler = (req: IncomingMessage, res: ServerResponse) => handleRequest(this.core, req, res)
    this.listener = new Listener(options.port ?? 0, options.host ?? '127.0.0.1', handler)
  }

  get port(): number {
    return this.listener.port
  }
  get url(): string {
    const host = this.listener.host
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`
  }
  get apiUrl(): string {
    return `${this.url}/v2.0`
  }
  get mode(): SimMode {
    return this.core.rt.mode
  }
  get calls(): readonly SimCall[] {
    return this.core.stats.calls
  }
  get changes(): readonly SimChange[] {
    return this.core.db.changes
  }

  async start(): Promise<void> {
    await this.listener.open()
    this.restartChangeTimer()
    if (this.core.rt.mode === 'down-refuse') await this.listener.close()
  }

  set(settings: SimSettings): Promise<void> {
    validateSettings(settings)
    const run = this.queue.then(() => this.apply(settings))
    this.queue = run.catch(() => {})
    return run
  }

  private async apply(s: SimSettings): Promise<void> {
    if (this.closed) return
    const rt = this.core.rt
    applySettings(rt, s)
    if (s.changeEveryMs !== undefined) {
      rt.changeEveryMs = s.changeEveryMs === false ? 0 : s.changeEveryMs
      this.restartChangeTimer()
    }
    if (s.mode === undefined) return
    clearTimeout(this.revertTimer)
    this.revertTimer = undefined
    rt.mode = s.mode
    if (s.mode === 'down-refuse') await this.listener.close()
    else await this.listener.open()
    if (s.revertAfterMs !== undefined && s.mode !== 'up') {
      this.revertTimer = setTimeout(() => {
        this.set({ mode: 'up' }).catch(() => {})
      }, s.revertAfterMs)
    }
  }

  changesSince(sinceMs: number, filter: { season?: number; event?: string } = {}): SimChange[] {
    const event = filter.event?.toUpperCase()
    return this.core.db.changes.filter(
      (c) =>
        c.at > sinceMs &&
        (filter.season === undefined || c.season === filter.season) &&
        (event === undefined || c.event === event),
    )
  }

  tick(): SimTickResult {
    const changes = this.core.db.tick()
    this.core.stats.ticked()
    return { at: this.core.now(), changes }
  }

  stats(): SimStats {
    return this.core.stats.snapshot()
  }

  resetStats(): void {
    this.core.stats.reset()
  }

  events(season?: number): SimEventInfo[] {
    return this.core.db.eventInfos(season)
  }

  liveEvents(): SimEventInfo[] {
    return this.events().filter((e) => e.live)
  }

  teamNumbers(season?: number): number[] {
    const s = this.core.db.season(season ?? this.core.db.currentSeason)
    return s ? [...s.teams.keys()].sort((a, b) => a - b) : []
  }

  lockKey(key: string, seconds: number): void {
    this.core.limiter.lock(key, seconds, this.core.now())
  }

  describe() {
    return {
      url: this.url,
      apiUrl: this.apiUrl,
      listening: this.listener.listening,
      ...describeRuntime(this.core.rt),
      currentSeason: this.core.db.currentSeason,
      events: this.events(),
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.changeTimer)
    clearTimeout(this.revertTimer)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    await this.queue
    await this.listener.close()
  }

  private schedule(fn: () => void, ms: number): void {
    if (this.closed) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  private restartChangeTimer(): void {
    clearInterval(this.changeTimer)
    this.changeTimer = undefined
    const every = this.core.rt.changeEveryMs
    if (every > 0 && !this.closed) {
      this.changeTimer = setInterval(() => this.tick(), every)
      this.changeTimer.unref()
    }
  }
}

export async function startSimUpstream(options: SimOptions = {}): Promise<Sim> {
  const sim = new Sim(options)
  await sim.start()
  return sim
}
