export {
  createCisternLogger,
  createLogger,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  silentLogger,
} from './logger.js'
export { MASK, Scrubber } from './scrub.js'
export { secretsOf } from './secrets.js'
