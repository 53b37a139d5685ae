/**
 * `npm run example -- guild-api`: the simulated Blizzard API, and guild-api using cistern's engine
 * in-process (no gateway) on a SQLite file. Prints what to try; runs until Ctrl-C.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { sqliteStore } from '../../src/index.js'
import { stopOnSignal } from '../recipe.js'
import { bnetOf, type GuildApp, GuildDb, type RosterSource, startGuildApp } from './app.js'
import { type BlizzardApi, startBlizzardApi } from './blizzard.js'
import { createGuildCache, type GuildCache } from './cache.js'
import { type SwitchableStore, withOutageSwitch } from './outage.js'

export interface GuildExample {
  blizzard: BlizzardApi
  app: GuildApp
  db: GuildDb
  cache: GuildCache
  /** The SQLite store behind an off switch (`store.down = true`: the cache server is unreachable). */
  store: SwitchableStore
  close(): Promise<void>
}

export interface StartOptions {
  /** The SQLite file (default ./.cistern/guild-api.db). */
  dbPath?: string
  now?: () => number
  appPort?: number
  blizzardPort?: number
}

/** Blizzard's roster behind a client-credentials token, fetched once and renewed before it expires. */
export function blizzardClient(api: BlizzardApi, now: () => number = Date.now): RosterSource {
  let token: { value: string; renewAt: number } | undefined
  const fetchToken = async () => {
    const res = await fetch(`${api.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${api.clientId}:${api.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    })
    if (!res.ok) throw new Error(`Blizzard token: HTTP ${res.status}`)
    const body = (await res.json()) as { access_token: string; expires_in: number }
    token = { value: body.access_token, renewAt: now() + (body.expires_in - 300) * 1000 }
    return token.value
  }
  return {
    async roster(realm, slug) {
      const bearer = token && token.renewAt > now() ? token.value : await fetchToken()
      const res = await fetch(
        `${api.url}/data/wow/guild/${realm}/${slug}/roster?namespace=profile-us&locale=en_US`,
        {
          headers: { authorization: `Bearer ${bearer}` },
        },
      )
      if (!res.ok) throw new Error(`Blizzard roster ${realm}/${slug}: HTTP ${res.status} ${await res.text()}`)
      const body = (await res.json()) as {
        members: { character: { id: number; name: string }; rank: number }[]
      }
      return body.members.map((m) => ({ characterId: m.character.id, name: m.character.name, rank: m.rank }))
    },
  }
}

export async function start(options: StartOptions = {}): Promise<GuildExample> {
  const now = options.now ?? Date.now
  const blizzard = await startBlizzardApi({ now, port: options.blizzardPort ?? 0 })
  const path = options.dbPath ?? './.cistern/guild-api.db'
  mkdirSync(dirname(path), { recursive: true })
  const store = withOutageSwitch(sqliteStore({ path }))
  const db = new GuildDb()
  const cache = createGuildCache({ store, now }, (bnetId) => db.profile(bnetId))
  const client = blizzardClient(blizzard, now)
  // The database as the last sync left it: each guild's roster, and which rank may use which tool.
  for (const [id, key] of [...blizzard.guilds.keys()].entries()) {
    const guild = blizzard.guilds.get(key)!
    db.guilds.set(id + 1, {
      id: id + 1,
      realm: guild.realm,
      slug: guild.slug,
      name: guild.name,
      permissions: { progress: 3, raids: 1, bank: 0 },
      members: guild.members.map((m) => ({
        bnetId: bnetOf(m.character.id),
        character: m.character.name,
        characterId: m.character.id,
        rank: m.rank,
      })),
    })
  }
  const app = await startGuildApp(db, cache, client, options.appPort ?? 0)
  return {
    blizzard,
    app,
    db,
    cache,
    store,
    async close() {
      await app.close()
      await cache.close()
      await blizzard.close()
    },
  }
}

export async function main(): Promise<void> {
  const example = await start({
    appPort: Number(process.env.GUILD_API_PORT ?? 5000),
    blizzardPort: Number(process.env.BLIZZARD_PORT ?? 9400),
  })
  const url = example.app.url
  const member = example.db.guilds.get(1)!.members[4]!
  console.log(`
guild-api ${url}  (cistern's engine in-process, SQLite at ./.cistern/guild-api.db)
simulated Blizzard API ${example.blizzard.url}

A permission check, cached 5 minutes (run it twice: X-Cache miss, then hit):
  curl -si '${url}/guilds/1/tools/progress/access?bnet_id=${member.bnetId}' | grep -iE '^(x-cache|age)|hasAccess'
The member list, cached 5 minutes:
  curl -si ${url}/guilds/1/members | grep -i x-cache

Officers change permissions: every permission:1:* check is dropped (a prefix delete):
  curl -s -X PUT -H 'content-type: application/json' -d '{"progress":5}' ${url}/guilds/1/permissions; echo
Roster sync from Blizzard: the member list and guild 1's permission checks are dropped:
  curl -s -X POST ${url}/guilds/1/sync; echo

Ctrl-C stops both.`)
  stopOnSignal(example.close)
}
