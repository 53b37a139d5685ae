export {
  createCisternLogger,
  createLogger,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  silentLogger,
} from './logger.js'
export { isSecretParam, MASK, redactText, redactUrl, Scrubber } from './redact.js'
export { redactConfig, secretParamsOf, secretsOf } from './secrets.js'
