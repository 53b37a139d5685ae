/**
 * `npm run example -- nif-precache`: a simulated data.nif.no (OAuth token endpoint + tournament API)
 * with cistern in front of it on examples/nif-precache/cistern.yaml. Prints what to curl; scores a
 * goal every 20 s so the change feed has something to say. Runs until Ctrl-C.
 */
import { startRecipe, stopOnSignal } from '../recipe.js'
import { startNifSim } from './upstream.js'

export async function main(): Promise<void> {
  const sim = await startNifSim({
    port: Number(process.env.SIM_PORT ?? 9200),
    latencyMs: 150,
    clientId: 'cistern-demo',
    clientSecret: 'demo-secret',
  })
  const { cistern } = await startRecipe('nif-precache', {
    NIF_API_URL: sim.apiUrl,
    NIF_TOKEN_URL: sim.tokenUrl,
    NIF_CLIENT_ID: 'cistern-demo',
    NIF_CLIENT_SECRET: 'demo-secret',
    ...process.env,
  })
  const live = sim.data.matches.filter((m) => m.matchStatusId === 1)
  let next = 0
  const goals = setInterval(() => {
    const match = live[next++ % live.length]
    if (match) sim.data.score(match.matchId)
  }, 20_000)
  goals.unref()

  const url = cistern.url
  const admin = cistern.adminUrl
  const auth = `-H 'Authorization: Bearer ${cistern.admin?.token ?? ''}'`
  const root = sim.data.tournaments.find((t) => t.parentTournamentId === null && t.seasonId === 1512025)!
  console.log(`
cistern ${url}  →  simulated data.nif.no ${sim.apiUrl} (OAuth token from ${sim.tokenUrl})

At start cistern fetched a token, prewarmed both sports' seasons, and from them every 2024+ season's
tournaments and every root tournament's matches; all of it is polled every 3 minutes from now on.
  curl -s ${admin}/queue ${auth} | head -c 600; echo
  curl -si ${url}/nif/tournaments/${root.tournamentId}/matches | grep -iE '^(x-cache|age)'
  curl -s  ${url}/nif/matches/${live[0]?.matchId ?? 0} ; echo

A goal is scored every 20 s. Poll now instead of in 3 minutes, and watch the change (the changed
match's details are fetched at once):
  curl -sN ${admin}/changes ${auth} &
  curl -s -X POST ${admin}/refresh ${auth} -d '{"prefix":"/nif/tournaments/"}'

Prometheus (cistern_upstream_up is the team's UP/DOWN) and the upstream call log:
  curl -s ${admin}/metrics ${auth} | grep -E '^cistern_upstream_(up|calls_total)'
  curl -s '${admin}/upstreams?calls=10' ${auth}

Ctrl-C stops both.`)

  stopOnSignal(async () => {
    await cistern.close(2000)
    await sim.close()
  })
}
