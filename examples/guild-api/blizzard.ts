/**
 * A simulated Blizzard Battle.net API, the parts guild-api uses: the OAuth client-credentials token
 * (`POST /oauth/token`, HTTP Basic with the client id and secret, `grant_type=client_credentials`)
 * and the World of Warcraft guild roster (`GET /data/wow/guild/{realm}/{slug}/roster?namespace=
 * profile-us`, `Authorization: Bearer <token>`). Its quirks: errors are `{ code, type, detail }`
 * (`BLZWEBAPI00000404`), a missing `namespace` is 404, an unknown or expired token 401, 100 calls a
 * second per client past which 429; answers carry Last-Modified and honour If-Modified-Since.
 */
import { type JsonAnswer, type JsonApi, type JsonRequest, startJsonApi } from '../sim-upstream/json-api.js'

export interface RosterMember {
  character: { id: number; name: string; level: number; realm: { slug: string } }
  rank: number
}

export interface Guild {
  realm: string
  slug: string
  name: string
  members: RosterMember[]
  modifiedAt: number
}

export interface BlizzardApi extends JsonApi {
  readonly clientId: string
  readonly clientSecret: string
  readonly guilds: Map<string, Guild>
  /** Tokens issued so far (guild-api should reuse one until it expires). */
  tokensIssued(): number
  /** Change a member's rank in the game (an officer promotes someone). */
  setRank(realm: string, slug: string, characterId: number, rank: number): void
}

const blzError = (status: number, detail: string): JsonAnswer => ({
  status,
  body: { code: status, type: `BLZWEBAPI00000${status}`, detail },
})

export async function startBlizzardApi(
  options: { now?: () => number; port?: number } = {},
): Promise<BlizzardApi> {
  const now = options.now ?? Date.now
  const clientId = 'guild-api-client'
  const clientSecret = 'guild-api-secret'
  const tokens = new Map<string, number>()
  let issued = 0
  const guilds = new Map<string, Guild>()
  const addGuild = (realm: string, slug: string, name: string, firstId: number) => {
    const members: RosterMember[] = Array.from({ length: 8 }, (_, i) => ({
      character: { id: firstId + i, name: `${name.split(' ')[0]}${i}`, level: 80, realm: { slug: realm } },
      rank: i === 0 ? 0 : Math.min(i, 5),
    }))
    guilds.set(`${realm}/${slug}`, { realm, slug, name, members, modifiedAt: now() })
  }
  addGuild('stormrage', 'raid-or-die', 'Raid Or Die', 1000)
  addGuild('area-52', 'mythic-minded', 'Mythic Minded', 2000)

  const handle = (request: JsonRequest): JsonAnswer => {
    if (request.method === 'POST' && request.path === '/oauth/token') {
      const basic = /^Basic (.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1]
      const [id, secret] = Buffer.from(basic ?? '', 'base64')
        .toString('utf8')
        .split(':')
      if (id !== clientId || secret !== clientSecret) {
        return { status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } }
      }
      const token = `blz-${++issued}-${Math.random().toString(36).slice(2, 10)}`
      tokens.set(token, now() + 86_399_000)
      return {
        status: 200,
        body: { access_token: token, token_type: 'bearer', expires_in: 86_399, sub: clientId },
      }
    }
    const bearer = /^Bearer (.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1]
    const expires = bearer === undefined ? undefined : tokens.get(bearer)
    if (expires === undefined || expires <= now()) return blzError(401, 'Unauthorized')
    const roster = /^\/data\/wow\/guild\/([a-z0-9-]+)\/([a-z0-9-]+)\/roster$/.exec(request.path)
    if (request.method === 'GET' && roster) {
      if (request.query.get('namespace') !== 'profile-us') return blzError(404, 'Not Found')
      const guild = guilds.get(`${roster[1]}/${roster[2]}`)
      if (!guild) return blzError(404, 'Not Found')
      return {
        status: 200,
        lastModifiedMs: guild.modifiedAt,
        body: {
          _links: { self: { href: `https://us.api.blizzard.com${request.path}?namespace=profile-us` } },
          guild: { name: guild.name, realm: { slug: guild.realm } },
          members: guild.members,
        },
      }
    }
    return blzError(404, 'Not Found')
  }

  const json = await startJsonApi(
    {
      handle,
      rateLimit: { perSecond: 100, perKey: true },
      lastModified: true,
      throttled: () => blzError(429, 'Too Many Requests'),
      unavailable: () => blzError(503, 'Service Unavailable'),
      now,
    },
    options.port ?? 0,
  )
  return Object.assign(json, {
    clientId,
    clientSecret,
    guilds,
    tokensIssued: () => issued,
    setRank(realm: string, slug: string, characterId: number, rank: number) {
      const guild = guilds.get(`${realm}/${slug}`)
      const member = guild?.members.find((m) => m.character.id === characterId)
      if (!guild || !member) throw new Error(`no character ${characterId} in ${realm}/${slug}`)
      member.rank = rank
      guild.modifiedAt = now()
    },
  })
}
