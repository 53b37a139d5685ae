/** Request statistics and a bounded call log (the control API is never counted). */
import type { IncomingHttpHeaders } from 'node:http'
import type { SimCall, SimSecondStats, SimStats } from './types.js'

const SECONDS_KEPT = 600

const bump = (o: Record<string, number>, k: string, by = 1) => {
  o[k] = (o[k] ?? 0) + by
}

export class StatsCollector {
  private s: SimStats = StatsCollector.empty()
  private seconds = new Map<number, SimSecondStats>()
  readonly calls: SimCall[] = []

  constructor(private readonly callLogSize: number) {}

  private static empty(): SimStats {
    return {
      total: 0,
      byPath: {},
      byMethod: {},
      byStatus: {},
      perSecond: [],
      peakPerSecond: 0,
      byKey: {},
      notModified: 0,
      writes: 0,
      limited: 0,
      ticks: 0,
    }
  }

  /** Count an arriving request; returns its call-log entry and its per-second bucket. */
  arrive(
    method: string,
    url: string,
    path: string,
    headers: IncomingHttpHeaders,
    key: string,
    nowMs: number,
  ): { call: SimCall; second: SimSecondStats } {
    const s = this.s
    s.total++
    bump(s.byPath, path)
    bump(s.byMethod, method)
    bump(s.byKey, key)
    if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') s.writes++
    const sec = Math.floor(nowMs / 1000)
    let second = this.seconds.get(sec)
    if (!second) {
      second = { second: sec, count: 0, limited: 0, byKey: {} }
      this.seconds.set(sec, second)
      for (const old of this.seconds.keys()) {
        if (old > sec - SECONDS_KEPT) break
        this.seconds.delete(old)
      }
    }
    second.count++
    bump(second.byKey, key)
    const call: SimCall = { method, url, headers: { ...headers }, at: nowMs, key }
    this.calls.push(call)
    if (this.calls.length > this.callLogSize) this.calls.splice(0, this.calls.length - this.callLogSize)
    return { call, second }
  }

  limited(second: SimSecondStats): void {
    second.limited++
    this.s.limited++
  }

  finished(call: SimCall, status: number): void {
    call.status = status
    bump(this.s.byStatus, String(status))
    if (status === 304) this.s.notModified++
  }

  ticked(): void {
    this.s.ticks++
  }

  snapshot(): SimStats {
    const perSecond = [...this.seconds.values()]
      .sort((a, b) => a.second - b.second)
      .map((x) => ({ ...x, byKey: { ...x.byKey } }))
    const s = this.s
    return {
      ...s,
      byPath: { ...s.byPath },
      byMethod: { ...s.byMethod },
      byStatus: { ...s.byStatus },
      byKey: { ...s.byKey },
      perSecond,
      peakPerSecond: perSecond.reduce((m, x) => Math.max(m, x.count), 0),
    }
  }

  reset(): void {
    this.s = StatsCollector.empty()
    this.seconds = new Map()
    this.calls.length = 0
  }
}
