import { z } from 'zod'
import { parseDuration, parseRate, parseSize, UnitError } from '../../util/units.js'
import { type CelResultType, type CelVariableName, compileExpression, ExpressionError } from '../cel.js'
import { compileTemplate, TemplateSyntaxError } from '../template.js'
import { describeValue } from '../zod-issues.js'

/**
 * Building blocks shared by the schema files. Each accepts what a person writes in YAML and
 * outputs the resolved value (durations in ms, sizes in bytes, rates as {count, perMs}).
 */

const quote = (value: unknown): string => JSON.stringify(value)

/** A schema-level message for a value of the wrong type (undefined → the "is required" message). */
export const expected =
  (what: string) =>
  (issue: { input?: unknown }): string | undefined =>
    issue.input === undefined ? undefined : `expected ${what}, got ${describeValue(issue.input)}`

export const DURATION_HINT = '(expected e.g. 90s, 5m, 24h)'

/**
 * A string read by one of util/units' parsers, which alone define the syntax; a refusal becomes an
 * issue worded for the config file (`problem` says whether the text or its magnitude is wrong).
 */
function unit<T>(
  parse: (text: string) => T,
  refusal: Record<UnitError['problem'], (quoted: string) => string>,
) {
  return z.string().transform((value, ctx): T => {
    try {
      return parse(value)
    } catch (error) {
      if (!(error instanceof UnitError)) throw error
      ctx.addIssue({ code: 'custom', message: refusal[error.problem](quote(value)), input: value })
      return z.NEVER
    }
  })
}

/** `90s`, `5m`, `24h`, `1h30m`, `500ms`, `7d` or 0 → milliseconds. */
export function duration(description: string) {
  const text = unit(parseDuration, {
    syntax: (q) => `${q} is not a duration ${DURATION_HINT}`,
    range: (q) => `${q} is too long a duration`,
  })
  return z
    .union([text, z.literal(0)], { error: expected('a duration such as 90s, 5m or 24h') })
    .meta({ description })
}

/** `64MB`, `512KiB`, `1GB` or a whole number of bytes → bytes (KB = 1000, KiB = 1024). */
export function size(description: string) {
  const text = unit(parseSize, {
    syntax: (q) => `${q} is not a size (expected e.g. 512KB, 64MB, 1GiB)`,
    range: (q) => `${q} is too large a size`,
  })
  return z
    .union([text, z.number().int().nonnegative()], { error: expected('a size such as 64MB or 512KiB') })
    .meta({ description })
}

/** `10/s`, `600/m`, `36000/h`, `100/10s` → { count, perMs }. */
export function rate() {
  return unit(parseRate, {
    syntax: (q) => `${q} is not a rate (expected e.g. 10/s, 600/m, 36000/h, 100/10s)`,
    range: (q) => `${q} is not a usable rate (count and period must be above zero)`,
  })
}

/** One item or a list of them → always a non-empty list. */
export function oneOrMany<T extends z.ZodType>(item: T, what: string) {
  return z
    .union([item, z.array(item).min(1)], { error: expected(`${what}, or a list of them`) })
    .transform((value): z.output<T>[] => (Array.isArray(value) ? value : [value]) as z.output<T>[])
}

/** `0.1`, `10%` → a fraction in 0..1. */
export function fraction(description: string) {
  const percent = z
    .string()
    .regex(/^\d+(?:\.\d+)?%$/, { error: (issue) => `${quote(issue.input)} is not a percentage like 10%` })
    .transform((value) => Number(value.slice(0, -1)) / 100)
    .refine((value) => value <= 1, { error: 'must be at most 100%' })
  return z
    .union([z.number().min(0).max(1), percent], { error: expected('a fraction such as 0.1 or 10%') })
    .meta({ description })
}

/** True when `value` has no C0 control character (tab excepted) and no DEL: no header injection. */
export function noControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return false
  }
  return true
}

/** A non-empty string without control characters. */
export const text = (description: string) =>
  z
    .string()
    .min(1)
    .refine(noControl, { error: 'must not contain control characters or line breaks' })
    .meta({ description })

/** A secret such as a token or password; never echoed in messages. */
export const secret = (description: string) =>
  z
    .string()
    .min(1)
    .refine(noControl, { error: 'must not contain control characters or line breaks' })
    .meta({ description, writeOnly: true })

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** An HTTP header name, lower-cased. */
export const headerName = (description: string) =>
  z
    .string()
    .regex(HEADER_NAME, { error: (issue) => `${quote(issue.input)} is not a valid HTTP header name` })
    .transform((value) => value.toLowerCase())
    .meta({ description })

export const statusCode = z
  .number({ error: expected('an HTTP status code such as 403') })
  .int()
  .min(100)
  .max(599)

type IssueSink = { addIssue(issue: z.core.$ZodRawIssue): void }

/** Compile a CEL expression, or report why not on `ctx` and return z.NEVER. */
export function compileCel(
  source: string,
  ctx: IssueSink,
  expect: CelResultType,
  variables?: readonly CelVariableName[],
) {
  try {
    return compileExpression(source, { expect, ...(variables ? { variables } : {}) })
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error
    ctx.addIssue({
      code: 'custom',
      message: `invalid CEL expression ${quote(source)}: ${error.message}`,
      input: source,
      params: { kind: 'cel' },
    })
    return z.NEVER
  }
}

/** A CEL expression, compiled at load time. */
export function cel(description: string, expect: CelResultType, variables?: readonly CelVariableName[]) {
  return z
    .string()
    .transform((source, ctx) => compileCel(source, ctx, expect, variables))
    .meta({ description })
}

/** A template with {refs} (and :params when `colonParams`); the refs are checked later, in context. */
export function template(description: string, colonParams = false) {
  return z
    .string()
    .min(1)
    .transform((source, ctx) => {
      try {
        return compileTemplate(source, { colonParams })
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error
        ctx.addIssue({ code: 'custom', message: error.message, input: source, params: { kind: 'template' } })
        return z.NEVER
      }
    })
    .meta({ description })
}
