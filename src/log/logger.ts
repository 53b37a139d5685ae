import { type Logger, pino } from 'pino'
import type { CisternConfig, LogLevel } from '../config/types.js'
import { MASK, Scrubber } from '../util/redact.js'
import { secretParamsOf, secretsOf } from './secrets.js'

export type { Logger }

/** Where serialized lines go: stdout by default; tests pass a collector. */
export interface LogDestination {
  write(line: string): void
}

export interface LoggerOptions {
  level: LogLevel
  /** Secret values (see secretsOf) that must never appear in a line. */
  secrets?: Iterable<string>
  /** Query parameter names to mask besides the built-in rule (see secretParamsOf). */
  secretParams?: Iterable<string>
  destination?: LogDestination
}

/**
 * cistern's logger: pino JSON lines, every one passed through the Scrubber before it is written, so
 * credentials are removed whatever the call site logged. Scrubbing costs a few regex passes per
 * line; that is affordable because nothing logs on the hot path above debug level.
 */
export function createLogger(options: LoggerOptions): Logger {
  const scrubber = new Scrubber(options.secrets, options.secretParams)
  const out = options.destination ?? { write: (line: string) => process.stdout.write(line) }
  const stream = { write: (line: string) => out.write(scrubber.scrub(line)) }
  return pino(
    {
      level: options.level,
      base: { name: 'cistern' },
      // Headers objects logged under these paths never even reach the scrubber with their values.
      redact: {
        paths: [
          'headers.authorization',
          'headers.cookie',
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
        ],
        censor: MASK,
      },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  )
}

/** A logger that drops everything (embedding, tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

/**
 * The logger startCistern makes from a config: its log level, and every secret in it (plus
 * `extraSecrets`, such as a generated admin token) scrubbed from every line.
 */
export function createCisternLogger(
  config: CisternConfig,
  options: { level?: LogLevel; destination?: LogDestination; extraSecrets?: Iterable<string> } = {},
): Logger {
  return createLogger({
    level: options.level ?? config.log.level,
    secrets: [...secretsOf(config), ...(options.extraSecrets ?? [])],
    secretParams: secretParamsOf(config),
    ...(options.destination && { destination: options.destination }),
  })
}
