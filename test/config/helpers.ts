import { expect } from 'vitest'
import {
  type CisternConfig,
  ConfigError,
  type ConfigIssue,
  type Env,
  parseConfig,
} from '../../src/config/index.js'

/** Parse, expecting failure; returns the ConfigError. */
export function configError(text: string, env: Env = {}, file = 'cistern.yaml'): ConfigError {
  try {
    parseConfig(text, file, env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError, but the config loaded')
}

/** The single issue a broken config reports. */
export function onlyIssue(text: string, env: Env = {}): ConfigIssue {
  const error = configError(text, env)
  expect(error.issues.length, error.message).toBe(1)
  return error.issues[0]!
}

/** Parse, expecting success. */
export function load(text: string, env: Env = {}): CisternConfig {
  return parseConfig(text, 'cistern.yaml', env, { baseDir: '/srv/cistern' })
}

/** A minimal upstream block to put routes on. */
export const UPSTREAM = 'upstreams:\n  api:\n    url: https://api.example.com/v1\n'
