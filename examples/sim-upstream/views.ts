/** JSON views of the model, shaped like FTC Events API v2.0 answers. */
import type { EventState, Match } from './model.js'
import { total } from './model.js'

export function matchView(m: Match) {
  return {
    matchNumber: m.matchNumber,
    description: m.description,
    tournamentLevel: m.tournamentLevel,
    series: m.series,
    status: m.status,
    actualStartTime: m.actualStartTime,
    postResultTime: m.postResultTime,
    scoreRedFinal: total(m.red),
    scoreRedFoul: m.red.foul,
    scoreRedAuto: m.red.auto,
    scoreBlueFinal: total(m.blue),
    scoreBlueFoul: m.blue.foul,
    scoreBlueAuto: m.blue.auto,
    teams: m.teams,
    version: m.version,
    modifiedAt: m.modifiedAt,
  }
}

export function scoreView(m: Match) {
  const alliance = (name: 'Red' | 'Blue') => {
    const s = name === 'Red' ? m.red : m.blue
    return {
      alliance: name,
      autoPoints: s.auto,
      dcPoints: s.teleop,
      endgamePoints: s.endgame,
      penaltyPointsCommitted: (name === 'Red' ? m.blue : m.red).foul,
      prePenaltyTotal: s.auto + s.teleop + s.endgame,
      totalPoints: total(s),
    }
  }
  return {
    matchLevel: m.tournamentLevel,
    matchSeries: m.series,
    matchNumber: m.matchNumber,
    status: m.status,
    alliances: [alliance('Blue'), alliance('Red')],
    version: m.version,
    modifiedAt: m.modifiedAt,
  }
}

interface Row {
  teamNumber: number
  wins: number
  losses: number
  ties: number
  rp: number
  points: number
  played: number
  high: number
}

/** Rankings from the final qualification matches: 2 RP a win, 1 a tie; ties broken by average score. */
export function rankingsView(state: EventState, teamName: (n: number) => string) {
  const rows = new Map<number, Row>()
  for (const n of state.teams) {
    rows.set(n, { teamNumber: n, wins: 0, losses: 0, ties: 0, rp: 0, points: 0, played: 0, high: 0 })
  }
  for (const m of state.matches) {
    if (m.status !== 'final') continue
    const red = total(m.red)
    const blue = total(m.blue)
    for (const t of m.teams) {
      const row = rows.get(t.teamNumber)
      if (!row) continue
      const mine = t.station.startsWith('Red') ? red : blue
      const theirs = t.station.startsWith('Red') ? blue : red
      row.played++
      row.points += mine
      row.high = Math.max(row.high, mine)
      if (mine > theirs) {
        row.wins++
        row.rp += 2
      } else if (mine < theirs) row.losses++
      else {
        row.ties++
        row.rp += 1
      }
    }
  }
  const avg = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 100) / 100)
  const sorted = [...rows.values()].sort(
    (a, b) =>
      avg(b.rp, b.played) - avg(a.rp, a.played) ||
      avg(b.points, b.played) - avg(a.points, a.played) ||
      b.high - a.high ||
      a.teamNumber - b.teamNumber,
  )
  return sorted.map((r, i) => ({
    rank: i + 1,
    teamNumber: r.teamNumber,
    displayTeamNumber: String(r.teamNumber),
    teamName: teamName(r.teamNumber),
    sortOrder1: avg(r.rp, r.played),
    sortOrder2: avg(r.points, r.played),
    sortOrder3: r.high,
    wins: r.wins,
    losses: r.losses,
    ties: r.ties,
    qualAverage: avg(r.points, r.played),
    dq: 0,
    matchesPlayed: r.played,
    matchesCounted: r.played,
  }))
}
