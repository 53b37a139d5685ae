import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRecipe } from '../../examples/recipe.js'
import type { Cistern } from '../../src/app/cistern.js'
import type { CisternConfig, StoreConfig } from '../../src/config/types.js'
import { createCisternLogger } from '../../src/log/index.js'

export { until } from '../refresh/helpers.js'

export interface RecipeHarness {
  cistern: Cistern
  config: CisternConfig
  url: string
  admin: string
  token: string
  /** Every log line cistern wrote (debug and up), after scrubbing. */
  logs: string[]
  get(path: string, headers?: Record<string, string>): Promise<Response>
  /** An admin API call with the admin token. */
  api(path: string, init?: RequestInit): Promise<Response>
  close(): Promise<void>
}

/**
 * A recipe's own cistern.yaml started as the recipe's README says, with `env` for its upstreams: real
 * HTTP on free loopback ports, the SQLite store in a temp dir (or `options.store`), a known admin
 * token, logs in memory.
 */
export async function startRecipeHarness(
  name: string,
  env: Record<string, string>,
  options: { store?: StoreConfig } = {},
): Promise<RecipeHarness> {
  const dir = await mkdtemp(join(tmpdir(), `cistern-${name}-`))
  const token = randomBytes(24).toString('base64url')
  const logs: string[] = []
  const { cistern, config } = await startRecipe(
    name,
    { CISTERN_DB: join(dir, 'cache.db'), ...env },
    {
      freePorts: true,
      ...(options.store && { store: options.store }),
      start: (config) => ({
        logger: createCisternLogger(config, {
          level: 'debug',
          destination: { write: (line) => logs.push(line) },
          extraSecrets: [token],
        }),
        admin: { env: {}, token },
      }),
    },
  )
  const admin = cistern.adminUrl!
  return {
    cistern,
    config,
    url: cistern.url,
    admin,
    token,
    logs,
    get: (path, headers = {}) => fetch(cistern.url + path, { headers }),
    api(path, init = {}) {
      const headers = new Headers(init.headers)
      headers.set('authorization', `Bearer ${token}`)
      return fetch(admin + path, { ...init, headers })
    },
    async close() {
      await cistern.close(1000)
      await rm(dir, { recursive: true, force: true })
    },
  }
}
