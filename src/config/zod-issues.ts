import type { z } from 'zod'
import type { ConfigIssueKind, PathSegment, PendingIssue } from './errors.js'
import { didYouMean } from './suggest.js'

/** `the string "x"`, `the number 5`, `a list`: what the file actually holds, for messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`
    case 'object':
      return 'a map'
    default:
      return typeof value
  }
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  record: 'a map',
}

type RawIssue = Parameters<z.core.$ZodErrorMap>[0]

function knownKeys(issue: RawIssue): string[] {
  const inst = issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined
  return Object.keys(inst?._zod?.def?.shape ?? {})
}

/**
 * The error map used for every parse: plain-English messages that say what was expected and what
 * was found. Schema-level messages (durations, sizes ...) take precedence over this one.
 */
export const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected
      if (issue.input === undefined) return `is required (expected ${expected})`
      return `expected ${expected}, got ${describeValue(issue.input)}`
    }
    case 'unrecognized_keys': {
      const known = knownKeys(issue)
      // One line per key, in order; toPending splits them into one issue per key.
      return issue.keys.map((key) => `unknown key "${key}"${didYouMean(key, known)}`).join('\n')
    }
    case 'invalid_value': {
      const options = issue.values.map((value) => String(value))
      const input = issue.input
      const hint = typeof input === 'string' ? didYouMean(input, options) : ''
      return `${describeValue(input)} is not one of: ${options.join(', ')}${hint}`
    }
    case 'too_small': {
      if (issue.origin === 'array') return `must list at least ${issue.minimum} item(s)`
      if (issue.origin === 'string') return 'must not be empty'
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}, got ${String(issue.input)}`
    }
    case 'too_big': {
      if (issue.origin === 'array') return `must list at most ${issue.maximum} item(s)`
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${String(issue.input)}`
    }
    case 'invalid_union':
      return issue.input === undefined ? 'is required' : `${describeValue(issue.input)} is not valid here`
    default:
      return undefined
  }
}

function segmentsOf(path: readonly PropertyKey[]): PathSegment[] {
  return path.filter((part): part is string | number => typeof part !== 'symbol')
}

function kindOf(issue: z.core.$ZodIssue): ConfigIssueKind {
  switch (issue.code) {
    case 'invalid_type':
      return 'type'
    case 'invalid_union':
      return issue.input === undefined ? 'type' : 'value'
    case 'custom': {
      const kind = issue.params?.kind
      return typeof kind === 'string' ? (kind as ConfigIssueKind) : 'value'
    }
    default:
      return 'value'
  }
}

/** A branch of a union that failed only because the value has another type altogether. */
function wrongTypeOnly(issues: readonly z.core.$ZodIssue[]): boolean {
  return issues.every(
    (issue) => issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value'),
  )
}

/**
 * When exactly one branch of a failed union had the right type ("5 minutes" is a string, just not
 * a duration), its own issues say more than "expected a duration or ...": report those instead.
 */
function unwrapUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] | undefined {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return undefined
  const relevant = issue.errors.filter((branch) => !wrongTypeOnly(branch))
  if (relevant.length !== 1) return undefined
  return relevant[0]!.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }))
}

/** zod issues → issues waiting for a source position. */
export function toPending(issues: readonly z.core.$ZodIssue[]): PendingIssue[] {
  const out: PendingIssue[] = []
  for (const issue of issues) {
    const unwrapped = unwrapUnion(issue)
    if (unwrapped) {
      out.push(...toPending(unwrapped))
      continue
    }
    const segments = segmentsOf(issue.path)
    if (issue.code === 'unrecognized_keys') {
      const lines = issue.message.split('\n')
      issue.keys.forEach((key, index) => {
        out.push({
          segments: [...segments, key],
          kind: 'unknown-key',
          at: 'key',
          message: lines[index] ?? `unknown key "${key}"`,
        })
      })
    } else if (issue.code === 'invalid_key') {
      out.push({ segments, kind: 'value', at: 'key', message: issue.issues[0]?.message ?? issue.message })
    } else {
      out.push({ segments, kind: kindOf(issue), message: issue.message })
    }
  }
  return out
}
