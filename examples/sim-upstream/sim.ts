/** The simulated upstream's lifecycle: listener, modes (incl. re-listening on the same port), timers. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Catalogue } from './catalogue.js'
import { type ControlTarget, controlOnly, handleControl } from './control.js'
import { createCore, handleRequest, type SimCore } from './handler.js'
import { Listener } from './listener.js'
import { applySettings, describeRuntime, validateSettings } from './runtime.js'
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
  private readonly controlListener: Listener | undefined
  private readonly timers = new Set<NodeJS.Timeout>()
  private changeTimer: NodeJS.Timeout | undefined
  private revertTimer: NodeJS.Timeout | undefined
  private queue: Promise<void> = Promise.resolve()
  private closed = false

  constructor(options: SimOptions) {
    this.core = createCore(options, {
      schedule: (fn, ms) => this.schedule(fn, ms),
      control: (req, res, url) => {
        handleControl(this, req, res, url).catch(() => res.destroy())
      },
    })
    const handler = (req: IncomingMessage, res: ServerResponse) => handleRequest(this.core, req, res)
    const host = options.host ?? '127.0.0.1'
    this.listener = new Listener(options.port ?? 0, host, handler)
    if (options.controlPort !== undefined) {
      this.controlListener = new Listener(options.controlPort, host, controlOnly(this.core.control))
    }
  }

  get port(): number {
    return this.listener.port
  }
  get url(): string {
    return this.listener.url
  }
  get controlUrl(): string {
    return (this.controlListener ?? this.listener).url
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
  get catalogue(): Catalogue | undefined {
    return this.core.catalogue
  }
  get changes(): readonly SimChange[] {
    return this.core.db.changes
  }

  async start(): Promise<void> {
    await this.listener.open()
    await this.controlListener?.open()
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
    // `mode` reads as the new one only once the listener matches it.
    if (s.mode === 'down-refuse') {
      rt.mode = s.mode
      await this.listener.close()
    } else {
      await this.listener.open()
      rt.mode = s.mode
    }
    if (s.revertAfterMs !== undefined && s.mode !== 'up') {
      this.revertTimer = setTimeout(() => {
        this.set({ mode: 'up' }).catch(() => {})
      }, s.revertAfterMs)
    }
  }

  changesSince(sinceMs: number, filter: { season?: number; event?: string } = {}): SimChange[] {
    return this.core.db.changesSince(sinceMs, filter)
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
    return this.core.db.teamNumbers(season)
  }

  lockKey(key: string, seconds: number): void {
    this.core.limiter.lock(key, seconds, this.core.now())
  }

  describe() {
    return {
      url: this.url,
      apiUrl: this.apiUrl,
      controlUrl: this.controlUrl,
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
    await Promise.all([this.listener.close(), this.controlListener?.close()])
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
  try {
    await sim.start()
  } catch (err) {
    await sim.close()
    throw err
  }
  return sim
}
