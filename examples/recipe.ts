/**
 * What every recipe's run.ts and end-to-end test share: load examples/<name>/cistern.yaml with an
 * environment (the simulated upstream's URLs, credentials) and start cistern on it.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Cistern, type StartOptions, startCistern } from '../src/app/cistern.js'
import { type Env, loadConfig } from '../src/config/index.js'
import type { CisternConfig } from '../src/config/types.js'

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
  start?: (config: CisternConfig) => StartOptions
}

/** Load examples/<name>/cistern.yaml with `env` and start cistern on it. */
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
  const cistern = await startCistern(config, options.start?.(config) ?? {})
  return { cistern, config }
}

/** Stop on Ctrl-C or SIGTERM: cistern first (finishing in-flight requests), then the simulators. */
export function stopOnSignal(cistern: Cistern, ...others: { close(): Promise<void> }[]): void {
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await cistern.close(2000)
    for (const other of others) await other.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
