/**
 * Recipe 1, end to end: examples/ftc-discord/cistern.yaml in front of the simulated FTC Events API,
 * with The Blue Alliance's webhooks and a Discord channel simulated too; real HTTP, SQLite in a temp
 * dir. The promises of FTCLink's hand-built cache: Basic auth, revalidation by Last-Modified, per-type
 * freshness, matches polled only while their event is live, TBA webhooks (signed, Python-serialized,
 * verification) refreshing the event, and changes posted to Discord. The same on Postgres (the FTC
 * team keeps its cache in the Postgres its bot already runs): a server of the file's own, a schema
 * per test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type DiscordChannel,
  pythonJson,
  sendTbaWebhook,
  startDiscordChannel,
  startFtcApi,
} from '../../examples/ftc-discord/upstream.js'
import type { SimUpstream } from '../../examples/sim-upstream/index.js'
import type { StoreConfig } from '../../src/config/types.js'
import { sleep } from '../refresh/helpers.js'
import { findService, type ServiceHandle, startPostgres } from '../support/services.js'
import { type RecipeHarness, startRecipeHarness, until } from './helpers.js'

const credentials = { username: 'ftclink', password: 'ftc-api-key-value' }
const TBA_SECRET = 'tba-webhook-secret'

const postgresBin = findService('postgres')

for (const kind of ['sqlite', 'postgres'] as const)
  describe.skipIf(kind === 'postgres' && !postgresBin)(
    `recipe: FTC Events + The Blue Alliance for a Discord bot (${kind} store)`,
    () => {
      let server: ServiceHandle | undefined
      let schemas = 0
      if (kind === 'postgres') {
        beforeAll(async () => {
          server = await startPostgres(postgresBin!)
        }, 60_000)
        afterAll(() => server?.stop())
      }
      /** The YAML's SQLite store, or a fresh schema on the file's Postgres server. */
      const store = (): StoreConfig | undefined =>
        server && {
          kind: 'postgres',
          url: server.url,
          namespace: `ftc_${++schemas}`,
          memory: 64 * 1024 * 1024,
          timeout: 1000,
          maxSize: 1000 ** 3,
        }
      let ftc: SimUpstream | undefined
      let discord: DiscordChannel | undefined
      let h: RecipeHarness | undefined
      afterEach(async () => {
        await h?.close()
        await ftc?.close()
        await discord?.close()
        h = ftc = discord = undefined
      })

      async function start() {
        ftc = await startFtcApi(credentials, { changeEveryMs: false })
        discord = await startDiscordChannel()
        h = await startRecipeHarness(
          'ftc-discord',
          {
            FTC_API_URL: ftc.apiUrl,
            FTC_USERNAME: credentials.username,
            FTC_API_KEY: credentials.password,
            TBA_WEBHOOK_SECRET: TBA_SECRET,
            DISCORD_WEBHOOK_URL: discord.url,
          },
          { store: store() },
        )
        return { ftc, discord, h }
      }

      it('Basic auth, per-type freshness, If-Modified-Since revalidation, and polling only live events', async () => {
        const { ftc, h } = await start()
        const season = 2025
        const live = ftc.liveEvents()[0]!.code
        const past = ftc.events(season).find((e) => !e.live && Date.parse(e.dateEnd) < Date.now())!.code
        const future = ftc.events(season).find((e) => Date.parse(e.dateStart) > Date.now())!.code
        const team = ftc.teamNumbers(season)[0]!

        // Per-type freshness, as the team's updater had it: teams 24 h, events 1 h, matches and rankings 1 min.
        const ttl = async (path: string) => {
          const res = await h.get(path)
          expect(res.status, path).toBe(200)
          await res.arrayBuffer()
          return Number(/ttl=(\d+)/.exec(res.headers.get('cache-status') ?? '')?.[1])
        }
        expect(await ttl(`/ftc/${season}/teams/${team}`)).toBeGreaterThan(86_400 - 5)
        expect(await ttl(`/ftc/${season}/events/${live}`)).toBeGreaterThan(3600 - 5)
        expect(await ttl(`/ftc/${season}/events/${past}`)).toBeGreaterThan(3600 - 5)
        for (const event of [live, past, future]) {
          expect(await ttl(`/ftc/${season}/matches/${event}`)).toBeLessThanOrEqual(60)
        }
        expect(await ttl(`/ftc/${season}/rankings/${live}`)).toBeLessThanOrEqual(60)
        // FTC writes date-times without a zone; the recipe's `while` expressions take both forms.
        const event = (await (await h.get(`/ftc/${season}/events/${live}`)).json()) as {
          events: { dateEnd: string }[]
        }
        expect(event.events[0]!.dateEnd).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/)
        // cistern added the credentials; the bot sends none.
        expect(ftc.calls.every((c) => c.key === credentials.username && c.status === 200)).toBe(true)

        // Revalidation costs a header: no ETag, so If-Modified-Since, answered 304.
        const revalidated = await h.get(`/ftc/${season}/teams/${team}`, { 'cache-control': 'no-cache' })
        expect(revalidated.headers.get('x-cache-status')).toBe('REVALIDATED')
        await revalidated.arrayBuffer()
        const last = ftc.calls.at(-1)!
        expect(last.headers['if-modified-since']).toBeDefined()
        expect(last.headers['if-none-match']).toBeUndefined()
        expect(last.status).toBe(304)

        // Every read key with a refresh policy was enrolled; at its next poll (forced now) the policy on
        // the data decides: the live event's matches stay on a 1-minute poll, the past and future
        // events' matches leave, and the event itself stays hourly until a day after it ends.
        const { scheduler } = h.cistern.refresh
        await until(() => (scheduler.snapshot().keys === 5 ? true : undefined))
        await sleep(200) // the baselines of the enrolled keys are written just after the reads
        const keys = [
          ...[live, past, future].map((e) => `/ftc/${season}/matches/${e}`),
          ...[live, past].map((e) => `/ftc/${season}/events/${e}`),
        ]
        await h.cistern.refresh.refresh({ keys })
        await until(() =>
          scheduler.snapshot().keys === 2 && scheduler.snapshot().running === 0 ? true : undefined,
        )
        const now = Date.now()
        expect(scheduler.nextRefresh(`/ftc/${season}/matches/${live}`)! - now).toBeGreaterThan(50_000)
        expect(scheduler.nextRefresh(`/ftc/${season}/matches/${live}`)! - now).toBeLessThanOrEqual(60_000)
        expect(scheduler.nextRefresh(`/ftc/${season}/events/${live}`)! - now).toBeGreaterThan(3_500_000)
        expect(scheduler.nextRefresh(`/ftc/${season}/matches/${past}`)).toBeUndefined()
        expect(scheduler.nextRefresh(`/ftc/${season}/matches/${future}`)).toBeUndefined()
        expect(scheduler.nextRefresh(`/ftc/${season}/events/${past}`)).toBeUndefined()

        // The entries are in the configured store (on Postgres: its schema).
        const stats = (await (await h.api('/stats')).json()) as { store: { kind: string; entries: number } }
        expect(stats.store.kind).toBe(kind)
        expect(stats.store.entries).toBeGreaterThanOrEqual(6)
      }, 15_000)

      it('TBA webhooks: verification stored, bad signatures refused, a score refreshes the event and Discord hears it', async () => {
        const { ftc, discord, h } = await start()
        const season = 2025
        const live = ftc.liveEvents()[0]!.code
        const hook = `${h.url}/hooks/tba`
        const matchesPath = `/ftc/${season}/matches/${live}`
        await (await h.get(matchesPath)).arrayBuffer()
        await (await h.get(`/ftc/${season}/rankings/${live}`)).arrayBuffer()
        await sleep(200) // the enrolled key's baseline is written just after the read

        // The verification message TBA sends when the webhook is added: accepted, stored, its key logged.
        const verification = {
          message_type: 'verification',
          message_data: { verification_key: 'a1b2c3d4e5' },
        }
        expect((await sendTbaWebhook(hook, TBA_SECRET, verification)).status).toBe(200)
        // Acted on after the reply: with a Coordination (Postgres) only once the cluster's act-once
        // check has answered, a round trip to the server, so the outcome is waited for, not read at once.
        const outcomes = await until(async () => {
          const events = (await (await h.api('/events')).json()) as { events: { outcome: string }[] }
          const list = events.events.map((e) => e.outcome)
          return list.includes('pending') ? undefined : list
        })
        expect(outcomes).toEqual(['ignored'])
        expect(h.logs.some((line) => line.includes('a1b2c3d4e5'))).toBe(true)

        // A forged or re-serialized body is refused and changes nothing.
        const score = {
          message_type: 'match_score',
          message_data: { event_key: live, event_name: 'Québec Qualifier', match_key: `${live}_qm1` },
        }
        expect(pythonJson(score)).toContain('"event_name": "Qu\\u00e9bec Qualifier"')
        const before = ftc.calls.length
        const forged = await sendTbaWebhook(hook, TBA_SECRET, score, { signature: '0'.repeat(64) })
        expect(forged.status).toBe(401)
        await forged.arrayBuffer()

        // A score is posted upstream and TBA says so: the event's entries are refetched at once, the change
        // in matches goes to Discord in Discord's webhook format, and the rankings follow the matches.
        ftc.tick()
        const accepted = await sendTbaWebhook(hook, TBA_SECRET, score)
        expect(accepted.status).toBe(200)
        const message = await until(() => discord.messages[0], 8000)
        expect(ftc.calls.length).toBeGreaterThan(before)
        expect(message.content).toMatch(
          new RegExp(`^FTC ${live}: match results updated \\(new: [\\d, ]*; changed: [\\d, ]+\\) http://`),
        )
        expect(message.content).toContain(matchesPath)
        expect(message.allowed_mentions).toEqual({ parse: [] })
        await until(() =>
          ftc.calls.slice(before).filter((c) => c.url.startsWith(`/v2.0/${season}/rankings/${live}`)).length >
          0
            ? true
            : undefined,
        )
        const served = await h.get(matchesPath)
        expect(['HIT', 'REVALIDATED', 'MISS']).toContain(served.headers.get('x-cache-status'))
        const body = (await served.json()) as { matches: { version: number }[] }
        expect(Math.max(...body.matches.map((m) => m.version))).toBeGreaterThan(1)
      }, 15_000)
    },
  )
