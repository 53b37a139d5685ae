/**
 * `npm run example -- clash-of-clans`: a simulated Clash of Clans API (two keys, 40 calls/s each) with
 * cistern in front of it, database-first. Prints what to try; runs until Ctrl-C.
 */
import type { Cistern } from '../../src/app/cistern.js'
import { startRecipe, stopOnSignal } from '../recipe.js'
import { type ClashApi, startClashApi, tagOf } from './upstream.js'

export const KEYS = ['coc-sim-key-1', 'coc-sim-key-2']

export interface ClashExample {
  api: ClashApi
  cistern: Cistern
  /** Stop cistern and start it again on the same store and schedule (the simulator stays up). */
  restart(): Promise<void>
  close(): Promise<void>
}

export interface StartOptions {
  /** Variables the YAML reads, over the defaults (listen addresses, CISTERN_DB, COC_*_EVERY). */
  env?: Record<string, string>
  logLevel?: 'silent' | 'warn' | 'info'
  apiPort?: number
}

export async function start(options: StartOptions = {}): Promise<ClashExample> {
  const api = await startClashApi({ keys: KEYS, perKeyPerSecond: 40, port: options.apiPort ?? 0 })
  const launch = async () => {
    const env = {
      ...process.env,
      COC_API_URL: `${api.url}/v1`,
      COC_KEY_1: KEYS[0]!,
      COC_KEY_2: KEYS[1]!,
      ...options.env,
    }
    return (await startRecipe('clash-of-clans', env, { logLevel: options.logLevel ?? 'warn' })).cistern
  }
  try {
    const example: ClashExample = {
      api,
      cistern: await launch(),
      async restart() {
        await example.cistern.close(1000)
        example.cistern = await launch()
      },
      async close() {
        await example.cistern.close(1000)
        await api.close()
      },
    }
    return example
  } catch (error) {
    await api.close()
    throw error
  }
}

export async function main(): Promise<void> {
  const example = await start({ apiPort: Number(process.env.COC_API_PORT ?? 9300) })
  const { cistern } = example
  const url = cistern.url
  const player = encodeURIComponent(tagOf(30))
  const clan = encodeURIComponent(tagOf(1000, 4))
  const token = cistern.admin?.token ?? ''
  console.log(`
cistern ${url}  →  simulated Clash of Clans API ${example.api.url}/v1 (2 keys; it throttles a key past 40 calls/s, cistern keeps each to 30)

Tags start with #, sent as %23 (cistern passes them on encoded):
  curl -si ${url}/coc/players/${player} | grep -iE '^(HTTP|x-cache-status|age|x-cache-fetched-at)'
  curl -s  ${url}/coc/clans/${clan}/currentwar; echo

Token verification always goes to the API (X-Cache-Status: PASS):
  curl -s -X POST -H 'content-type: application/json' -d '{"token":"${example.api.gameTokens.get(tagOf(30))}"}' \\
       ${url}/coc/players/${player}/verifytoken; echo

The refresh queue, by priority (critical war, high clans, normal players, low leagues):
  curl -s -H 'Authorization: Bearer ${token}' ${cistern.adminUrl}/queue; echo

Maintenance break: reads keep answering at once from what cistern has, with their Age (STALE once
their ttl has passed; the test runs the same config with a 1 s player ttl to show it):
  curl -s -X POST ${example.api.url}/_sim/down
  curl -si ${url}/coc/players/${player} | grep -iE '^(HTTP|x-cache-status|age)'
  curl -s -X POST ${example.api.url}/_sim/up

Ctrl-C stops both.`)
  stopOnSignal(example.close)
}
