/**
 * What every recipe's run.ts and end-to-end test share: load examples/<name>/cistern.yaml with an
 * environment (the simulated upstream's URLs, credentials) and start cistern on it; and stop on Ctrl-C.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Cistern, type StartOptions, startCistern } from '../src/app/cistern.js'
import { type Env, loadConfig } from '../src/config/index.js'
import type { CisternConfig, LogLevel, StoreConfig } from '../src/config/types.js'
import { createCisternLogger } from '../src/log/index.js'

/** The repository root, whether this runs from examples/ (tests) or dist/examples/ (npm run example). */
function repoRoot(): string {
  for (const up of ['../', '../../']) {
    const dir = fileURLToPath(new URL(up, import.meta.url))
    if (existsSync(join(dir, 'package.json'))) return dir
  }
  throw new Error('cannot find the repository root from examples/recipe')
}

/** The path of a recipe's file, e.g. recipeFile('ftc-discord', 'cistern.yaml'). */
export function recipeFile(name: string, file: string): string {
  return join(repoRoot(), 'examples', name, file)
}

export interface RecipeOptions {
  /** Put the gateway and admin listeners on free ports whatever the YAML says (tests run in parallel). */
  freePorts?: boolean
  /** Run on this store instead of the YAML's (a recipe's tests run it on Postgres too). */
  store?: StoreConfig
  /** Log at this level instead of the YAML's log.level (tests pass 'silent'). */
  logLevel?: LogLevel
  /** More of startCistern's options (a logger, a clock, the admin token), made from the loaded config. */
  start?: (config: CisternConfig) => StartOptions
}

/**
 * Load examples/<name>/cistern.yaml with `env` and start cistern on it. `env` is all the YAML sees:
 * a caller that wants the shell's variables too spreads process.env into it. CISTERN_ADMIN_TOKEN is
 * read from `env` as well, unless `start` gives the admin its own.
 */
export async function startRecipe(
  name: string,
  env: Env,
  options: RecipeOptions = {},
): Promise<{ cistern: Cistern; config: CisternConfig }> {
  let config = await loadConfig(recipeFile(name, 'cistern.yaml'), env)
  if (options.freePorts) {
    config = {
      ...config,
      listen: { ...config.listen, port: 0 },
      admin: { ...config.admin, listen: { ...config.admin.listen, port: 0 } },
    }
  }
  if (options.store) config = { ...config, store: options.store }
  const start = options.start?.(config) ?? {}
  const cistern = await startCistern(config, {
    ...(options.logLevel && { logger: createCisternLogger(config, { level: options.logLevel }) }),
    ...start,
    admin: start.admin === false ? false : { env, ...start.admin },
  })
  return { cistern, config }
}

/**
 * On Ctrl-C or SIGTERM, run `stop` once (cistern first, so it finishes in-flight requests, then the
 * simulators) and exit.
 */
export function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false
  const onSignal = async () => {
    if (stopping) return
    stopping = true
    await stop()
    process.exit(0)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
}
