/**
 * guild-api, the Flask app, as a small node:http app: its own database (guilds, tool permissions,
 * members synced from Blizzard) and the routes whose answers it caches. The database is in memory
 * here and counts its queries, so the example can show which requests the cache saved.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CacheResult } from '../../src/index.js'
import type { GuildCache, Permission } from './cache.js'

export interface Member {
  bnetId: number
  character: string
  characterId: number
  rank: number
}

export interface GuildRow {
  id: number
  realm: string
  slug: string
  name: string
  /** Tool → the highest rank number allowed to use it (0 = guild master). */
  permissions: Record<string, number>
  members: Member[]
}

/** The app's database. `queries` counts reads, the load the cache exists to take off it. */
export class GuildDb {
  queries = 0
  readonly guilds = new Map<number, GuildRow>()

  guild(id: number): GuildRow | undefined {
    this.queries++
    return this.guilds.get(id)
  }

  checkPermission(guildId: number, bnetId: number, tool: string): Permission {
    const guild = this.guild(guildId)
    const member = guild?.members.find((m) => m.bnetId === bnetId)
    const required = guild?.permissions[tool] ?? null
    const rank = member?.rank ?? null
    return { hasAccess: rank !== null && required !== null && rank <= required, rank, required }
  }

  profile(bnetId: number): {
    bnetId: number
    characters: { guild: string; character: string; rank: number }[]
  } {
    this.queries++
    const characters = [...this.guilds.values()].flatMap((g) =>
      g.members
        .filter((m) => m.bnetId === bnetId)
        .map((m) => ({ guild: g.name, character: m.character, rank: m.rank })),
    )
    return { bnetId, characters }
  }
}

/** What the app needs from Blizzard: a guild's roster (the client fetches and renews its own token). */
export interface RosterSource {
  roster(realm: string, slug: string): Promise<{ characterId: number; name: string; rank: number }[]>
}

/** Battle.net account ids of characters: the link users make when they log in with Battle.net. */
export const bnetOf = (characterId: number) => 500_000 + characterId

export interface GuildApp {
  readonly url: string
  close(): Promise<void>
}

export async function startGuildApp(
  db: GuildDb,
  cache: GuildCache,
  blizzard: RosterSource,
  port = 0,
): Promise<GuildApp> {
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(res, 500, {
        error: 'internal_error',
        message: error instanceof Error ? error.message : String(error),
      })
    })
  })

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://guild-api.invalid')
    const parts = url.pathname.split('/').filter(Boolean)
    const method = req.method ?? 'GET'
    if (parts[0] === 'guilds' && parts[1] !== undefined) {
      const guildId = Number(parts[1])
      if (!Number.isInteger(guildId) || !db.guilds.has(guildId))
        return send(res, 404, { error: 'guild_not_found' })
      // GET /guilds/:id/tools/:tool/access?bnet_id=: the check every request of the front end makes.
      if (method === 'GET' && parts[2] === 'tools' && parts[4] === 'access' && parts[3] !== undefined) {
        const bnetId = Number(url.searchParams.get('bnet_id'))
        if (!Number.isInteger(bnetId)) return send(res, 400, { error: 'bnet_id is required' })
        const tool = parts[3]
        return sendCached(
          res,
          await cache.permission(guildId, bnetId, tool, () => db.checkPermission(guildId, bnetId, tool)),
        )
      }
      if (method === 'GET' && parts[2] === 'members' && parts.length === 3) {
        return sendCached(res, await cache.members(guildId, () => ({ members: db.guild(guildId)!.members })))
      }
      // PUT /guilds/:id/permissions { tool: rank }: officers change who may use what.
      if (method === 'PUT' && parts[2] === 'permissions' && parts.length === 3) {
        const body = await readJson(req)
        const guild = db.guilds.get(guildId)!
        for (const [tool, rank] of Object.entries(body ?? {}))
          if (typeof rank === 'number') guild.permissions[tool] = rank
        const invalidated = await cache.invalidatePermissions(guildId)
        return send(res, 200, { success: true, invalidated })
      }
      // POST /guilds/:id/sync: pull the roster from Blizzard, then drop what it changes.
      if (method === 'POST' && parts[2] === 'sync' && parts.length === 3) {
        const guild = db.guilds.get(guildId)!
        const roster = await blizzard.roster(guild.realm, guild.slug)
        guild.members = roster.map((m) => ({
          bnetId: bnetOf(m.characterId),
          character: m.name,
          characterId: m.characterId,
          rank: m.rank,
        }))
        const invalidated = await cache.invalidateRoster(guildId)
        return send(res, 200, { success: true, members: guild.members.length, invalidated })
      }
    }
    if (method === 'GET' && parts[0] === 'users' && parts[2] === 'profile' && parts.length === 3) {
      const bnetId = Number(parts[1])
      if (!Number.isInteger(bnetId)) return send(res, 400, { error: 'bad bnet id' })
      return send(res, 200, await cache.profile(bnetId))
    }
    send(res, 404, { error: 'not_found' })
  }

  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** The value, with what the cache did: `X-Cache: hit | miss | stale …` and `Age` in seconds. */
function sendCached(res: ServerResponse, result: CacheResult<unknown>): void {
  res.setHeader('x-cache', result.status)
  res.setHeader('age', String(Math.floor(result.age / 1000)))
  send(res, 200, result.value)
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size <= 64 * 1024) chunks.push(chunk as Buffer)
  }
  if (size > 64 * 1024) return undefined
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
