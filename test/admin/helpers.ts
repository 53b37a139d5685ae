import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type SimOptions, type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import type { AdminStartOptions } from '../../src/admin/start.js'
import { type Cistern, startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { createCisternLogger } from '../../src/log/index.js'

export interface AdminHarness {
  sim: SimUpstream
  cistern: Cistern
  /** Gateway URL. */
  url: string
  /** Admin URL. */
  admin: string
  token: string
  /** Every log line cistern wrote, as written (after scrubbing). */
  logs: string[]
  get(path: string, headers?: Record<string, string>): Promise<Response>
  /** An admin API call with the right token (unless `token` is given, or null for none). */
  api(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>
  close(): Promise<void>
}

export interface AdminHarnessOptions {
  sim?: SimOptions
  yaml?: string
  env?: Record<string, string>
  admin?: AdminStartOptions
  logLevel?: 'trace' | 'debug' | 'info'
}

/**
 * A simulated upstream and cistern (gateway + admin listener) on random loopback ports, a SQLite
 * store in a temp dir, and the log lines captured in memory. `yaml` defaults to examples/demo.yaml.
 */
export async function startAdminHarness(options: AdminHarnessOptions = {}): Promise<AdminHarness> {
  const sim = await startSimUpstream({ changeEveryMs: false, ...options.sim })
  const dir = await mkdtemp(join(tmpdir(), 'cistern-admin-'))
  const yaml = options.yaml ?? (await readFile(new URL('../../examples/demo.yaml', import.meta.url), 'utf8'))
  const env = {
    SIM_URL: sim.apiUrl,
    SIM_ROOT: sim.url,
    CISTERN_LISTEN: '127.0.0.1:0',
    CISTERN_ADMIN_LISTEN: '127.0.0.1:0',
    CISTERN_DB: join(dir, 'cache.db'),
    ...options.env,
  }
  const config = parseConfig(yaml, join(dir, 'cistern.yaml'), env)
  const logs: string[] = []
  const token = options.admin?.token ?? randomBytes(24).toString('base64url')
  // The same logger startCistern would make from this config, writing to memory instead of stdout.
  const logger = createCisternLogger(config, {
    level: options.logLevel ?? 'debug',
    destination: { write: (line) => logs.push(line) },
    extraSecrets: [token],
  })
  const cistern = await startCistern(config, { logger, admin: { env: {}, ...options.admin, token } })
  const admin = cistern.adminUrl!
  return {
    sim,
    cistern,
    url: cistern.url,
    admin,
    token,
    logs,
    get: (path, headers = {}) => fetch(cistern.url + path, { headers }),
    api(path, init = {}) {
      const { token: given, ...rest } = init
      const value = given === undefined ? token : given
      const headers = new Headers(rest.headers)
      if (value !== null) headers.set('authorization', `Bearer ${value}`)
      return fetch(admin + path, { ...rest, headers })
    },
    async close() {
      await cistern.close(1000)
      await sim.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The body of a JSON answer, typed loosely for assertions. */
export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T
}
