import { type Cistern, startCistern } from '../app/cistern.js'
import { loadConfig } from '../config/index.js'

export interface ServeOptions {
  config: string
  /** Called with each line worth telling the operator. */
  print: (line: string) => void
}

/**
 * `cistern serve`: load the config (a broken one exits before any store is opened), start the
 * gateway, and shut down gracefully on SIGTERM / SIGINT: stop accepting, finish in-flight requests,
 * close upstream pools and the store.
 */
export async function serveCommand(options: ServeOptions): Promise<Cistern> {
  const config = await loadConfig(options.config)
  const cistern = await startCistern(config)
  options.print(
    `cistern listening on ${cistern.url} (${config.routes.length} routes, store ${config.store.kind})`,
  )
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    options.print(`${signal}: finishing in-flight requests, then closing`)
    cistern.close().then(
      () => process.exit(0),
      (error: unknown) => {
        options.print(`error while closing: ${error instanceof Error ? error.message : String(error)}`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return cistern
}
