import { type Cistern, startCistern } from '../app/cistern.js'
import { loadConfig } from '../config/index.js'
import type { LogLevel } from '../config/types.js'
import { configWarnings } from './check.js'

export interface ServeOptions {
  config: string
  /** Overrides log.level from the config. */
  logLevel?: LogLevel
  /** Called with each line worth telling the operator (stderr: stdout carries the JSON log). */
  print: (line: string) => void
}

/**
 * `cistern serve`: load the config (a broken one exits before any store is opened), start the
 * gateway and the admin listener, and shut down gracefully on SIGTERM / SIGINT: stop accepting,
 * finish in-flight requests, close upstream pools and the store.
 */
export async function serveCommand(options: ServeOptions): Promise<Cistern> {
  const loaded = await loadConfig(options.config)
  const config = options.logLevel ? { ...loaded, log: { ...loaded.log, level: options.logLevel } } : loaded
  const cistern = await startCistern(config)
  const admin = cistern.admin
  cistern.logger.info(
    { url: cistern.url, admin: cistern.adminUrl, routes: config.routes.length, store: config.store.kind },
    'cistern listening',
  )
  for (const warning of configWarnings(config)) cistern.logger.warn(warning)
  options.print(
    `cistern listening on ${cistern.url} (${config.routes.length} routes, store ${config.store.kind}); admin API and dashboard on ${cistern.adminUrl}`,
  )
  if (admin?.tokenSource === 'generated') {
    // Shown once, to the operator's terminal only (never logged): set admin.token or
    // CISTERN_ADMIN_TOKEN to choose a token that survives restarts.
    options.print(`admin token (generated for this run): ${admin.token}`)
    options.print(`dashboard: ${cistern.adminUrl}/?token=${admin.token}`)
  }
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    cistern.logger.info({ signal }, 'finishing in-flight requests, then closing')
    cistern.close().then(
      () => process.exit(0),
      (error: unknown) => {
        cistern.logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'error while closing',
        )
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return cistern
}
