#!/usr/bin/env node
import { Command, Option } from 'commander'
import { AdminClientError } from '../admin/client/client.js'
import type { LogLevel } from '../config/types.js'
import { CisternError } from '../util/errors.js'
import { registerAdminCommands } from './admin-commands.js'
import { VERSION } from './version.js'

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

const program = new Command()
  .name('cistern')
  .description('A caching gateway for rate-limited, slow or flaky JSON APIs')
  .version(VERSION)

program
  .command('serve')
  .description('run the gateway and its admin listener')
  .option('-c, --config <file>', 'configuration file', 'cistern.yaml')
  .addOption(
    new Option('--log-level <level>', 'log level (default: log.level from the config)').choices(LOG_LEVELS),
  )
  .action(async (options: { config: string; logLevel?: LogLevel }) => {
    // Loaded on demand: the admin client commands start without loading the gateway and its stores.
    const { serveCommand } = await import('./serve.js')
    await serveCommand({
      config: options.config,
      ...(options.logLevel && { logLevel: options.logLevel }),
      print: (line) => console.error(line),
    })
  })

program
  .command('check')
  .description(
    'validate the configuration, print the resolved routes and webhooks, and check that the listen addresses are free and the store writable',
  )
  .option('-c, --config <file>', 'configuration file', 'cistern.yaml')
  .option(
    '--sample <name=file.json>',
    "evaluate a route's refresh.while / changes / warm.each, or a webhook's when, against this body (repeatable)",
    (value: string, previous: string[]) => [...previous, value],
    [] as string[],
  )
  .option('--no-preflight', 'skip the machine checks (free ports, writable store), e.g. while cistern runs')
  .action(async (options: { config: string; sample: string[]; preflight: boolean }) => {
    const { checkCommand } = await import('./check.js')
    const { problems } = await checkCommand(options.config, (line) => console.log(line), {
      samples: options.sample,
      preflight: options.preflight,
    })
    if (problems > 0) process.exit(1)
  })

registerAdminCommands(program, (text) => console.log(text))

program.parseAsync().catch((error: unknown) => {
  // Known errors print their message (config errors list file:line:key); anything else, its stack.
  if (error instanceof AdminClientError) {
    console.error(`cistern: ${error.message}`)
    process.exit(error.exitCode)
  }
  console.error(error instanceof CisternError ? error.message : error)
  process.exit(error instanceof CisternError && error.code === 'E_CONFIG' ? 2 : 1)
})
