import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GuildExample, start } from '../../examples/guild-api/run.js'

/** Recipe 4 (examples/guild-api): the engine in-process behind a Flask-like app, over real HTTP. */
describe('recipe: guild-api (library in-process)', () => {
  let example: GuildExample
  let dir: string
  let now = Date.now()
  const get = (path: string) => fetch(example.app.url + path)
  const access = (guild: number, tool: string, bnetId: number) =>
    get(`/guilds/${guild}/tools/${tool}/access?bnet_id=${bnetId}`)
  const xcache = (res: Response) => res.headers.get('x-cache')
  const member = (guild: number, i: number) => example.db.guilds.get(guild)!.members[i]!

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cistern-guild-'))
    example = await start({ dbPath: join(dir, 'cache.db'), now: () => now })
  })
  afterAll(async () => {
    await example?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('caches permission checks for 5 minutes: one database query per guild, user and tool', async () => {
    const { bnetId } = member(1, 2)
    const queries = example.db.queries
    const first = await access(1, 'progress', bnetId)
    expect([first.status, xcache(first)]).toEqual([200, 'miss'])
    expect(await first.json()).toEqual({ hasAccess: true, rank: 2, required: 3 })
    now += 60_000
    const again = await access(1, 'progress', bnetId)
    expect([xcache(again), again.headers.get('age')]).toEqual(['hit', '60'])
    expect(example.db.queries).toBe(queries + 1)
    now += 241_000 // 5 min 1 s after the first check
    expect(xcache(await access(1, 'progress', bnetId))).toBe('miss')
    expect(example.db.queries).toBe(queries + 2)
  })

  it('caches member lists, and a roster sync drops the list and every permission check of that guild only', async () => {
    const promoted = member(1, 4) // rank 4: no raids access (raids needs rank <= 1)
    const other = member(2, 4)
    expect(xcache(await get('/guilds/1/members'))).toBe('miss')
    expect(xcache(await get('/guilds/1/members'))).toBe('hit')
    expect(await (await access(1, 'raids', promoted.bnetId)).json()).toMatchObject({ hasAccess: false })
    await access(2, 'raids', other.bnetId)
    expect(xcache(await access(1, 'raids', promoted.bnetId))).toBe('hit')

    // An officer promotes the member in the game; guild-api syncs the roster from Blizzard.
    example.blizzard.setRank('stormrage', 'raid-or-die', promoted.characterId, 1)
    const sync = await fetch(`${example.app.url}/guilds/1/sync`, { method: 'POST' })
    expect(await sync.json()).toMatchObject({ success: true, members: 8 })
    const after = await access(1, 'raids', promoted.bnetId)
    expect(xcache(after)).toBe('miss')
    expect(await after.json()).toMatchObject({ hasAccess: true, rank: 1 })
    expect(xcache(await get('/guilds/1/members'))).toBe('miss')
    expect(xcache(await access(2, 'raids', other.bnetId))).toBe('hit')

    // The Blizzard token is fetched once and reused by the next sync.
    await fetch(`${example.app.url}/guilds/1/sync`, { method: 'POST' })
    expect(example.blizzard.tokensIssued()).toBe(1)
  })

  it('a permissions change drops permission:{guild}:* (a prefix delete), nothing else', async () => {
    const { bnetId } = member(1, 5) // rank 5
    expect(await (await access(1, 'progress', bnetId)).json()).toMatchObject({ hasAccess: false })
    await get('/guilds/1/members')
    const put = await fetch(`${example.app.url}/guilds/1/permissions`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ progress: 5 }),
    })
    expect(((await put.json()) as { invalidated: number }).invalidated).toBeGreaterThanOrEqual(1)
    expect(await (await access(1, 'progress', bnetId)).json()).toMatchObject({ hasAccess: true })
    expect(xcache(await get('/guilds/1/members'))).toBe('hit')
  })

  it('keeps answering while the cache store is unreachable: the memory tier, then the database', async () => {
    const cached = member(2, 1)
    const fresh = member(2, 2)
    await access(2, 'bank', cached.bnetId)
    example.store.down = true
    try {
      // Already read: answered from the in-process tier, no store and no database call.
      const queries = example.db.queries
      expect(xcache(await access(2, 'bank', cached.bnetId))).toBe('hit')
      expect(example.db.queries).toBe(queries)
      // Never read: the store read fails, the database answers, the client sees no error.
      const miss = await access(2, 'bank', fresh.bnetId)
      expect([miss.status, xcache(miss)]).toEqual([200, 'miss'])
      expect(await miss.json()).toMatchObject({ hasAccess: false, rank: 2, required: 0 })
      // ... and is kept in memory meanwhile.
      expect(xcache(await access(2, 'bank', fresh.bnetId))).toBe('hit')
      // Writes and syncs still work; their invalidations reach the memory tier.
      const sync = await fetch(`${example.app.url}/guilds/2/sync`, { method: 'POST' })
      expect(sync.status).toBe(200)
      expect(xcache(await access(2, 'bank', fresh.bnetId))).toBe('miss')
      expect(example.store.refused).toBeGreaterThan(0)
    } finally {
      example.store.down = false
    }
    expect(xcache(await access(2, 'bank', fresh.bnetId))).toBe('hit')
  })

  it('caches profiles through wrap (the @cached decorator) for 10 minutes', async () => {
    const { bnetId } = member(1, 3)
    const queries = example.db.queries
    const profile = await (await get(`/users/${bnetId}/profile`)).json()
    expect(profile).toMatchObject({ bnetId, characters: [{ guild: 'Raid Or Die' }] })
    await get(`/users/${bnetId}/profile`)
    now += 9 * 60_000
    await get(`/users/${bnetId}/profile`)
    expect(example.db.queries).toBe(queries + 1)
    now += 61_000
    await get(`/users/${bnetId}/profile`)
    expect(example.db.queries).toBe(queries + 2)
  })
})
