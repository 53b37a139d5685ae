import { type Document, isScalar } from 'yaml'
import type { PathSegment, PendingIssue } from './errors.js'
import { walk } from './yaml.js'

/** The environment variables a config may read. */
export type Env = Readonly<Record<string, string | undefined>>

/** Where a value came from the environment, so error messages never echo it. */
export interface Interpolated {
  segments: PathSegment[]
  /** The value after interpolation (possibly a secret: never print it). */
  value: string
  /** The variables it read, for messages such as "the value of ${FTC_KEY}". */
  variables: string[]
}

export type InterpolationResult =
  | { ok: true; value: string; variables: string[] }
  | { ok: false; message: string }

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Expand `${VAR}` and `${VAR:-default}` in one string; `$${` is a literal `${`. A `$` that does not
 * start `${` stays as it is. `${VAR}` with VAR unset is an error; `${VAR:-x}` uses `x` when VAR is
 * unset or empty (as in the shell). Defaults are literal text: they are not expanded again.
 */
export function interpolate(input: string, env: Env): InterpolationResult {
  let out = ''
  const variables: string[] = []
  let at = 0
  while (at < input.length) {
    const dollar = input.indexOf('$', at)
    if (dollar === -1) {
      out += input.slice(at)
      break
    }
    out += input.slice(at, dollar)
    if (input.startsWith('$${', dollar)) {
      out += '${'
      at = dollar + 3
      continue
    }
    if (input[dollar + 1] !== '{') {
      out += '$'
      at = dollar + 1
      continue
    }
    const close = input.indexOf('}', dollar + 2)
    if (close === -1) {
      return { ok: false, message: 'unterminated "${" (write "$${" for a literal "${")' }
    }
    const body = input.slice(dollar + 2, close)
    const split = body.indexOf(':-')
    const name = split === -1 ? body : body.slice(0, split)
    if (!NAME.test(name)) {
      return {
        ok: false,
        message: `"\${${body}}" is not a valid variable reference (expected \${NAME} or \${NAME:-default})`,
      }
    }
    variables.push(name)
    const value = env[name]
    if (split !== -1) {
      out += value === undefined || value === '' ? body.slice(split + 2) : value
    } else if (value === undefined) {
      return { ok: false, message: `environment variable ${name} is not set (referenced as \${${name}})` }
    } else {
      out += value
    }
    at = close + 1
  }
  return { ok: true, value: out, variables }
}

/**
 * Interpolate every string value of a parsed document in place. Runs after YAML parsing, so a
 * variable's value is always exactly one string and can never add keys, lists or YAML syntax.
 * Keys are never interpolated.
 */
export function interpolateDocument(
  doc: Document.Parsed,
  env: Env,
): { issues: PendingIssue[]; interpolated: Interpolated[] } {
  const issues: PendingIssue[] = []
  const interpolated: Interpolated[] = []
  walk(doc, (node, segments) => {
    if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('$')) return
    const result = interpolate(node.value, env)
    if (!result.ok) {
      issues.push({ segments, kind: 'env', message: result.message })
      return
    }
    if (result.variables.length > 0 || result.value !== node.value) {
      node.value = result.value
      if (result.variables.length > 0) {
        interpolated.push({ segments, value: result.value, variables: result.variables })
      }
    }
  })
  return { issues, interpolated }
}
