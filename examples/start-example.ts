/** What every gateway recipe's run.ts does: load its cistern.yaml against its simulator and start cistern. */
import { sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Cistern, startCistern } from '../src/app/cistern.js'
import { loadConfig } from '../src/config/index.js'
import { createCisternLogger } from '../src/log/index.js'

/** A file next to a recipe's run.ts, in the source tree also when running from dist/. */
export function exampleFile(moduleUrl: string, file: string): string {
  return fileURLToPath(new URL(file, moduleUrl)).replace(
    `${sep}dist${sep}examples${sep}`,
    `${sep}examples${sep}`,
  )
}

export interface ExampleCisternOptions {
  /** Variables the YAML reads (the simulator's URL, listen addresses, the store path). */
  env: Record<string, string>
  /** An injected clock (tests). */
  now?: () => number
  /** The admin token (default: admin.token, CISTERN_ADMIN_TOKEN, or a random one). */
  adminToken?: string
  /** Log level; tests pass 'silent'. */
  logLevel?: 'silent' | 'warn' | 'info' | 'debug'
}

export async function startExampleCistern(
  configPath: string,
  options: ExampleCisternOptions,
): Promise<Cistern> {
  const env = { ...process.env, ...options.env }
  const config = await loadConfig(configPath, env)
  return startCistern(config, {
    logger: createCisternLogger(config, { level: options.logLevel ?? 'warn' }),
    admin: { env, ...(options.adminToken !== undefined && { token: options.adminToken }) },
    ...(options.now && { now: options.now }),
  })
}
