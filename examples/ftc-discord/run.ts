/**
 * `npm run example -- ftc-discord`: simulated FTC Events API, The Blue Alliance and a Discord channel,
 * with cistern in front on examples/ftc-discord/cistern.yaml. Prints what to curl and every message
 * the Discord channel receives. Runs until Ctrl-C.
 */
import { randomBytes } from 'node:crypto'
import { startRecipe, stopOnSignal } from '../recipe.js'
import { startDiscordChannel, startFtcApi } from './upstream.js'

export async function main(): Promise<void> {
  const credentials = { username: 'ftclink', password: randomBytes(12).toString('hex') }
  const tbaSecret = process.env.TBA_WEBHOOK_SECRET ?? randomBytes(16).toString('hex')
  const ftc = await startFtcApi(credentials, {
    port: Number(process.env.SIM_PORT ?? 9300),
    latencyMs: 300,
    changeEveryMs: 15_000,
  })
  const discord = await startDiscordChannel()
  discord.onMessage = (content) => console.log(`[discord] ${content}`)
  const { cistern } = await startRecipe('ftc-discord', {
    FTC_API_URL: ftc.apiUrl,
    FTC_USERNAME: credentials.username,
    FTC_API_KEY: credentials.password,
    TBA_WEBHOOK_SECRET: tbaSecret,
    DISCORD_WEBHOOK_URL: discord.url,
    ...process.env,
  })

  const url = cistern.url
  const admin = cistern.adminUrl
  const auth = `-H 'Authorization: Bearer ${cistern.admin?.token ?? ''}'`
  const season = 2025
  const live = ftc.liveEvents()[0]!
  const past = ftc.events(season).find((e) => !e.live)!
  const team = ftc.teamNumbers(season)[0]!
  const body = `{"message_type": "match_score", "message_data": {"event_key": "${live.code}", "match_key": "${live.code}_qm1"}}`
  console.log(`
cistern ${url}  →  simulated FTC Events API ${ftc.apiUrl} (Basic auth, Last-Modified only, 300 ms)
Discord channel ${discord.url} (its messages are printed here as [discord] ...)

Per-type freshness: teams 24 h, events 1 h, matches and rankings 1 min (polled only while live).
  curl -si ${url}/ftc/${season}/teams/${team} | grep -iE '^(HTTP|x-cache|cache-status|age)'
  curl -si ${url}/ftc/${season}/events/${live.code} | grep -iE '^(x-cache|age)'
  curl -s  ${url}/ftc/${season}/matches/${live.code} | head -c 300; echo     # live: polled every minute
  curl -s  ${url}/ftc/${season}/matches/${past.code} >/dev/null              # past: never polled
  curl -s  ${admin}/queue ${auth}; echo

Revalidation costs a header: If-Modified-Since, answered 304 by the FTC API:
  curl -si -H 'Cache-Control: no-cache' ${url}/ftc/${season}/teams/${team} | grep -i x-cache   # REVALIDATED

Scores change every 15 s; the next poll posts the change to Discord. A TBA webhook refreshes the event at once:
  curl -s -X POST ${url}/hooks/tba -H "X-TBA-HMAC: $(printf '%s' '${body}' | openssl dgst -sha256 -hmac '${tbaSecret}' -r | cut -d' ' -f1)" \\
    -d '${body}'
  curl -s ${admin}/events ${auth}; echo

Ctrl-C stops everything.`)

  stopOnSignal(async () => {
    await cistern.close(2000)
    await ftc.close()
    await discord.close()
  })
}
