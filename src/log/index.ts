export { isSecretParam, MASK, redactText, redactUrl, Scrubber } from '../util/redact.js'
export {
  createCisternLogger,
  createLogger,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  silentLogger,
} from './logger.js'
export { redactConfig, secretParamsOf, secretsOf } from './secrets.js'
