import { randomBytes } from 'node:crypto'
import type { SimOptions, SimUpstream } from '../../examples/sim-upstream/index.js'
import type { AdminStartOptions } from '../../src/admin/start.js'
import type { Cistern } from '../../src/app/cistern.js'
import { createCisternLogger } from '../../src/log/index.js'
import { startHarness } from '../gateway/harness.js'
import type { FakeClock } from '../support/fake-clock.js'

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
  /** Run cistern and the simulator on this clock (drive it with fakeTime from test/refresh/helpers.ts). */
  clock?: FakeClock
}

/**
 * The gateway harness plus the admin listener with a known token, and the log lines captured in
 * memory (after scrubbing).
 */
export async function startAdminHarness(options: AdminHarnessOptions = {}): Promise<AdminHarness> {
  const logs: string[] = []
  const token = options.admin?.token ?? randomBytes(24).toString('base64url')
  const h = await startHarness({
    ...(options.sim && { sim: options.sim }),
    ...(options.clock && { clock: options.clock }),
    ...(options.yaml && { yaml: options.yaml }),
    ...(options.env && { env: options.env }),
    // The same logger startCistern would make from this config, writing to memory instead of stdout.
    start: (config) => ({
      logger: createCisternLogger(config, {
        level: options.logLevel ?? 'debug',
        destination: { write: (line) => logs.push(line) },
        extraSecrets: [token],
      }),
      admin: { env: {}, ...options.admin, token },
    }),
  })
  const admin = h.cistern.adminUrl!
  return {
    sim: h.sim,
    cistern: h.cistern,
    url: h.url,
    admin,
    token,
    logs,
    get: h.get,
    api(path, init = {}) {
      const { token: given, ...rest } = init
      const value = given === undefined ? token : given
      const headers = new Headers(rest.headers)
      if (value !== null) headers.set('authorization', `Bearer ${value}`)
      return fetch(admin + path, { ...rest, headers })
    },
    close: h.close,
  }
}

/** The body of a JSON answer, typed loosely for assertions. */
export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T
}
