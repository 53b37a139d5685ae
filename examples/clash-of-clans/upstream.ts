/**
 * A simulated Clash of Clans API (https://api.clashofclans.com/v1) with the real one's quirks:
 * every call needs `Authorization: Bearer <key>` (no key or an unknown one: 403
 * `{"reason":"accessDenied","message":"Invalid authorization"}`); each key may make `perKeyPerSecond`
 * calls a second, past which it gets 429 `{"reason":"requestThrottled",…}`; player and clan tags
 * start with `#`, which must be sent as `%23` (`/players/%232PP`; a bare `#` would end the path);
 * `POST /players/{tag}/verifytoken` checks the one-time token a player copies from the game;
 * errors are `{ reason, message }`; 503 `inMaintenance` during maintenance breaks; no ETag or
 * Last-Modified, so every refresh is a full answer.
 */
import { type JsonAnswer, type JsonApi, type JsonRequest, startJsonApi } from '../sim-upstream/json-api.js'

export type WarState = 'notInWar' | 'preparation' | 'inWar' | 'warEnded'

export interface Player {
  tag: string
  name: string
  townHallLevel: number
  expLevel: number
  trophies: number
  clan?: { tag: string; name: string }
}

export interface Clan {
  tag: string
  name: string
  clanLevel: number
  members: number
  memberList: { tag: string; name: string; role: string; trophies: number }[]
  warState: WarState
}

export interface ClashApiOptions {
  /** API keys the simulator accepts. */
  keys: string[]
  /** Calls a key may make per second (default 40, what the team's notes give as the API's limit). */
  perKeyPerSecond?: number
  port?: number
}

export interface ClashApi extends JsonApi {
  readonly players: Map<string, Player>
  readonly clans: Map<string, Clan>
  /** The in-game API token of each player (`verifytoken` answers `ok` for it). */
  readonly gameTokens: Map<string, string>
  /** Change a player's trophies (the game moved on), so a refresh has something new to fetch. */
  play(tag: string): Player
}

const TAG_CHARS = '0289PYLQGRJCUV'

/** The n-th tag in the game's alphabet, e.g. `#2PP`. */
export function tagOf(n: number, length = 3): string {
  let out = ''
  for (let i = 0; i < length; i++) {
    out = TAG_CHARS[n % TAG_CHARS.length] + out
    n = Math.floor(n / TAG_CHARS.length)
  }
  return `#${out}`
}

export async function startClashApi(options: ClashApiOptions): Promise<ClashApi> {
  const players = new Map<string, Player>()
  const clans = new Map<string, Clan>()
  const gameTokens = new Map<string, string>()
  const states: WarState[] = ['inWar', 'preparation', 'notInWar', 'warEnded']
  for (let c = 0; c < 4; c++) {
    const tag = tagOf(1000 + c, 4)
    clans.set(tag, {
      tag,
      name: `Clan ${c}`,
      clanLevel: 5 + c,
      members: 0,
      memberList: [],
      warState: states[c]!,
    })
  }
  for (let p = 0; p < 300; p++) {
    const tag = tagOf(30 + p)
    const clan = clans.get(tagOf(1000 + (p % 4), 4))!
    const player: Player = {
      tag,
      name: `Player ${p}`,
      townHallLevel: 6 + (p % 10),
      expLevel: 40 + (p % 150),
      trophies: 1000 + ((p * 37) % 4000),
      clan: { tag: clan.tag, name: clan.name },
    }
    players.set(tag, player)
    gameTokens.set(tag, `tok${p.toString(36).padStart(5, '0')}`)
    if (clan.memberList.length < 50) {
      clan.memberList.push({ tag, name: player.name, role: 'member', trophies: player.trophies })
      clan.members = clan.memberList.length
    }
  }

  const error = (status: number, reason: string, message: string): JsonAnswer => ({
    status,
    body: { reason, message },
  })
  const handle = (request: JsonRequest): JsonAnswer => {
    const token = /^Bearer (.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1]
    if (token === undefined || !options.keys.includes(token)) {
      return error(403, 'accessDenied', 'Invalid authorization')
    }
    // Tags arrive percent-encoded (%23 for #); decode each segment as the real API does.
    let segments: string[]
    try {
      segments = request.path.split('/').filter(Boolean).map(decodeURIComponent)
    } catch {
      return error(400, 'badRequest', 'Invalid path')
    }
    const [version, resource, tag, sub] = segments
    if (version !== 'v1') return error(404, 'notFound', 'Resource was not found.')
    if (resource === 'players' && tag !== undefined) {
      const player = players.get(tag.toUpperCase())
      if (!player) return error(404, 'notFound', `Player ${tag} was not found.`)
      if (sub === undefined && request.method === 'GET') return { status: 200, body: player }
      if (sub === 'verifytoken' && request.method === 'POST') {
        const given = (request.body as { token?: unknown } | undefined)?.token
        if (typeof given !== 'string') return error(400, 'badRequest', 'Missing token')
        const status = gameTokens.get(player.tag) === given ? 'ok' : 'invalid'
        return { status: 200, body: { tag: player.tag, token: given, status } }
      }
    }
    if (resource === 'clans' && tag !== undefined && request.method === 'GET') {
      const clan = clans.get(tag.toUpperCase())
      if (!clan) return error(404, 'notFound', `Clan ${tag} was not found.`)
      const { warState, ...profile } = clan
      if (sub === undefined) return { status: 200, body: profile }
      if (sub === 'members') return { status: 200, body: { items: clan.memberList, paging: { cursors: {} } } }
      if (sub === 'currentwar') {
        if (warState === 'notInWar') return { status: 200, body: { state: 'notInWar' } }
        return {
          status: 200,
          body: {
            state: warState,
            teamSize: 15,
            clan: { tag: clan.tag, name: clan.name, stars: warState === 'preparation' ? 0 : 21 },
            opponent: { tag: '#2RJCL9QC', name: 'Rivals', stars: warState === 'preparation' ? 0 : 18 },
          },
        }
      }
    }
    if (resource === 'leagues' && tag === undefined && request.method === 'GET') {
      const names = ['Bronze', 'Silver', 'Gold', 'Crystal', 'Master', 'Champion', 'Titan', 'Legend']
      return {
        status: 200,
        body: { items: names.map((name, i) => ({ id: 29000001 + i, name: `${name} League` })) },
      }
    }
    return error(404, 'notFound', 'Resource was not found.')
  }

  const json = await startJsonApi(
    {
      handle,
      auth: { bearer: options.keys },
      rateLimit: { perSecond: options.perKeyPerSecond ?? 40, perKey: true },
      throttled: () =>
        error(
          429,
          'requestThrottled',
          'Request was throttled, because amount of requests was above the threshold defined for the used API token.',
        ),
      unavailable: () =>
        error(503, 'inMaintenance', 'The service is temporarily unavailable because of maintenance.'),
    },
    options.port ?? 0,
  )
  return Object.assign(json, {
    players,
    clans,
    gameTokens,
    play(tag: string): Player {
      const player = players.get(tag)
      if (!player) throw new Error(`no player ${tag}`)
      player.trophies += 31
      return player
    },
  })
}
