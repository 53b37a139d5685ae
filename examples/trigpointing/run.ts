/**
 * `npm run example -- trigpointing`: a simulated TrigpointingUK API with cistern in front of it, as the
 * team would run it instead of its Redis layer. Prints what to try; runs until Ctrl-C.
 */
import type { Cistern } from '../../src/app/cistern.js'
import { startRecipe, stopOnSignal } from '../recipe.js'
import { startTrigpointingApi, type TrigpointingApi } from './upstream.js'

export interface TrigpointingExample {
  api: TrigpointingApi
  cistern: Cistern
  close(): Promise<void>
}

export interface StartOptions {
  /** Variables the YAML reads, over the defaults (listen addresses, CISTERN_DB). */
  env?: Record<string, string>
  now?: () => number
  adminToken?: string
  logLevel?: 'silent' | 'warn' | 'info'
  apiPort?: number
}

export async function start(options: StartOptions = {}): Promise<TrigpointingExample> {
  const api = await startTrigpointingApi(options.apiPort ?? 0)
  try {
    const { cistern } = await startRecipe(
      'trigpointing',
      { ...process.env, TUK_API_URL: api.url, ...options.env },
      {
        logLevel: options.logLevel ?? 'warn',
        start: () => ({
          ...(options.now && { now: options.now }),
          ...(options.adminToken !== undefined && { admin: { token: options.adminToken } }),
        }),
      },
    )
    return {
      api,
      cistern,
      async close() {
        await cistern.close(1000)
        await api.close()
      },
    }
  } catch (error) {
    await api.close()
    throw error
  }
}

export async function main(): Promise<void> {
  const { api, cistern, close } = await start({ apiPort: Number(process.env.TUK_API_PORT ?? 9200) })
  const url = cistern.url
  const admin = cistern.adminUrl
  const token = cistern.admin?.token ?? ''
  console.log(`
cistern ${url}  →  simulated TrigpointingUK API ${api.url}

Reads are cached with the team's TTLs; run each twice (MISS, then HIT):
  curl -si ${url}/v1/trigs/1 | grep -iE '^(HTTP|x-cache-status|cache-status|age)'
  curl -s  ${url}/v1/stats/site; echo

Force a fresh answer (the decorator's Cache-Control: no-cache):
  curl -si -H 'Cache-Control: no-cache' ${url}/v1/trigs/1 | grep -i x-cache-status

A log written through cistern invalidates trig:1, user:1, the lists and the stats:
  curl -si -X POST -H 'Authorization: Bearer tuk-alice-token' -H 'content-type: application/json' \\
       -d '{"text":"Found it!","score":9}' ${url}/v1/trigs/1/logs | head -1
  curl -si ${url}/v1/trigs/1 | grep -iE '^x-cache-status'      # MISS: log_count is new

Admin (the old /v1/admin/cache endpoints), on the admin listener:
  curl -s -H 'Authorization: Bearer ${token}' ${admin}/stats | head -c 400; echo
  curl -s -X DELETE -H 'Authorization: Bearer ${token}' '${admin}/entries?prefix=/v1/trigs/'
  curl -s -X DELETE -H 'Authorization: Bearer ${token}' '${admin}/entries?tag=stats'
  dashboard: ${admin}/?token=${token}

Ctrl-C stops both.`)
  stopOnSignal(close)
}
