#!/usr/bin/env node
import { Command } from 'commander'
import { CisternError } from '../util/errors.js'
import { checkCommand } from './check.js'
import { serveCommand } from './serve.js'
import { VERSION } from './version.js'

const program = new Command()
  .name('cistern')
  .description('A caching gateway for rate-limited, slow or flaky JSON APIs')
  .version(VERSION)

program
  .command('serve')
  .description('run the gateway')
  .option('-c, --config <file>', 'configuration file', 'cistern.yaml')
  .action(async (options: { config: string }) => {
    await serveCommand({ config: options.config, print: (line) => console.log(line) })
  })

program
  .command('check')
  .description('validate the configuration and print the resolved routes')
  .option('-c, --config <file>', 'configuration file', 'cistern.yaml')
  .action(async (options: { config: string }) => {
    await checkCommand(options.config, (line) => console.log(line))
  })

program.parseAsync().catch((error: unknown) => {
  // Known errors print their message (config errors list file:line:key); anything else, its stack.
  console.error(error instanceof CisternError ? error.message : error)
  process.exit(error instanceof CisternError && error.code === 'E_CONFIG' ? 2 : 1)
})
