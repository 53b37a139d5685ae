/** Live changes: every tick, each live event's in-progress match scores; now and then a new match starts. */
import { newMatch } from './generate.js'
import type { EventState, Match, SeasonState } from './model.js'
import { isLive } from './model.js'
import type { Rng } from './prng.js'
import type { SimChange } from './types.js'

const MAX_MATCHES = 80

export interface TickContext {
  rng: Rng
  nowMs: number
  newMatchEveryTicks: number
}

/** A strictly increasing ISO timestamp (ms precision) for a resource that changes now. */
export function nextModified(previousIso: string, nowMs: number): string {
  const prev = Date.parse(previousIso)
  return new Date(Math.max(nowMs, prev + 1)).toISOString()
}

function touch(m: Match, nowMs: number): void {
  m.version++
  m.modifiedAt = nextModified(m.modifiedAt, nowMs)
}

export function tickEvent(state: EventState, ctx: TickContext): SimChange[] {
  const { rng, nowMs } = ctx
  const changes: SimChange[] = []
  const record = (m: Match, kind: SimChange['kind']) =>
    changes.push({
      at: Date.parse(m.modifiedAt),
      season: state.season,
      event: state.event.code,
      matchNumber: m.matchNumber,
      kind,
      version: m.version,
    })
  state.ticks++
  let current = state.matches[state.matches.length - 1]
  if (!current || current.status === 'final') {
    if (state.matches.length >= MAX_MATCHES) return changes
    current = newMatch(state, rng, nowMs, false)
    current.modifiedAt = nextModified(state.matches.at(-1)?.modifiedAt ?? current.modifiedAt, nowMs)
    state.matches.push(current)
    record(current, 'added')
    return changes
  }
  // Score the in-progress match: at least one point changes, so the body (and its ETag) always change.
  const side = rng.next() < 0.5 ? current.red : current.blue
  const other = side === current.red ? current.blue : current.red
  side.teleop += rng.int(1, 15)
  if (rng.next() < 0.4) other.teleop += rng.int(1, 15)
  if (rng.next() < 0.15) other.foul += 5
  const finish = state.ticks % ctx.newMatchEveryTicks === 0
  if (finish) {
    current.red.endgame += rng.int(0, 30)
    current.blue.endgame += rng.int(0, 30)
    current.status = 'final'
  }
  touch(current, nowMs)
  if (finish) current.postResultTime = current.modifiedAt
  record(current, 'score')
  if (finish && state.matches.length < MAX_MATCHES) {
    const next = newMatch(state, rng, nowMs, false)
    next.modifiedAt = nextModified(current.modifiedAt, nowMs)
    state.matches.push(next)
    record(next, 'added')
  }
  return changes
}

/** One round of changes over every live event of the current season. */
export function tickAll(seasons: SeasonState[], ctx: TickContext): SimChange[] {
  const changes: SimChange[] = []
  for (const s of seasons) {
    if (!s.current) continue
    for (const e of s.events) {
      if (isLive(e.event, ctx.nowMs)) changes.push(...tickEvent(e, ctx))
    }
  }
  return changes
}
