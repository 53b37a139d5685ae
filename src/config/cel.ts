import { Environment } from '@marcbachmann/cel-js'

/**
 * CEL expressions in the config (`when`, `while`, `items`, `id`, `each`) are compiled once at load
 * time and evaluated many times at run time. Variables:
 *
 * - `body`: the parsed JSON body (JSON numbers are CEL doubles: write `body.count > 2.0`, or compare
 *   with `==`, which works across int and double);
 * - `params`: the route's path parameters, strings;
 * - `headers`: request (webhooks) or response headers, lower-case names, strings;
 * - `now`: the current time as a CEL timestamp, so `timestamp(body.dateEnd) + duration("24h") > now`;
 * - `item`: one element of the `items` list (only in `changes.id`).
 *
 * Besides CEL's standard functions, `datetime(string)` reads the dates real APIs send: CEL's
 * `timestamp()` accepts only RFC 3339 with a zone, while FTC Events sends `2025-03-01T00:00:00` and
 * many APIs send `2025-03-01`. See `parseDateTime`.
 */
export type CelVariableName = 'body' | 'params' | 'headers' | 'now' | 'item'

export interface CelVariables {
  body?: unknown
  params?: Readonly<Record<string, string>>
  headers?: Readonly<Record<string, string>>
  /** Defaults to the current time. */
  now?: Date | number
  item?: unknown
}

/** What the expression must produce; checked at load time where the type is known statically. */
export type CelResultType = 'bool' | 'list' | 'any'

export interface CompileOptions {
  /** The variables the expression may use; others are a compile error. Default: body, params, headers, now. */
  variables?: readonly CelVariableName[]
  expect?: CelResultType
}

export interface CompiledExpression {
  readonly source: string
  readonly variables: readonly CelVariableName[]
  /**
   * Evaluate with the given variables (missing ones default to null, {} or the current time).
   * Integers come back as numbers (CEL ints are bigints inside). Throws ExpressionError.
   */
  evaluate(vars: CelVariables): unknown
  /** Evaluate and require a boolean. */
  test(vars: CelVariables): boolean
  /** Evaluate and require a list. */
  list(vars: CelVariables): unknown[]
  /** The source, so a resolved config prints readably. */
  toJSON(): string
}

/** A CEL expression failed to compile (phase 'compile') or to evaluate (phase 'evaluate'). */
export class ExpressionError extends Error {
  readonly code = 'E_EXPRESSION'
  readonly source: string
  readonly phase: 'compile' | 'evaluate'
  constructor(source: string, phase: 'compile' | 'evaluate', message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'ExpressionError'
    this.source = source
    this.phase = phase
  }
}

const DEFAULT_VARIABLES: readonly CelVariableName[] = ['body', 'params', 'headers', 'now']
const TYPES: Record<CelVariableName, string> = {
  body: 'dyn',
  params: 'map<string, string>',
  headers: 'map<string, string>',
  now: 'google.protobuf.Timestamp',
  item: 'dyn',
}
const EMPTY: Readonly<Record<string, string>> = Object.freeze({})
const environments = new Map<string, Environment>()

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/

/**
 * An ISO 8601 date or date-time, as APIs write them: `2025-03-01`, `2025-03-01T10:00`,
 * `2025-03-01T10:00:00.123`, with `Z` or an offset, or without a zone — read as UTC, so the answer
 * does not depend on the machine's time zone. Throws on anything else (a condition that cannot be
 * evaluated is reported, never guessed).
 */
export function parseDateTime(text: string): Date {
  const match = ISO_DATE_TIME.exec(text)
  if (!match) {
    throw new Error(`datetime() cannot read ${JSON.stringify(text.slice(0, 40))}: expected an ISO 8601 date`)
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', , sign, oh = '0', om = '0'] = match
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number]
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3))
  const utc = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5], ms))
  // Date.UTC rolls 2025-02-31 over into March: a field out of range is an error, not another date.
  const valid =
    utc.getUTCFullYear() === parts[0] &&
    utc.getUTCMonth() === parts[1] - 1 &&
    utc.getUTCDate() === parts[2] &&
    utc.getUTCHours() === parts[3] &&
    utc.getUTCMinutes() === parts[4] &&
    utc.getUTCSeconds() === parts[5]
  if (!valid) throw new Error(`datetime() cannot read ${JSON.stringify(text)}: a field is out of range`)
  const offsetMin = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0
  return new Date(utc.getTime() - offsetMin * 60_000)
}

function environmentFor(variables: readonly CelVariableName[]): Environment {
  const key = [...variables].sort().join(',')
  let env = environments.get(key)
  if (!env) {
    env = new Environment({ limits: { maxAstNodes: 2000, maxDepth: 64 } })
    env.registerFunction('datetime(string): google.protobuf.Timestamp', parseDateTime)
    for (const name of variables) env.registerVariable(name, TYPES[name])
    environments.set(key, env)
  }
  return env
}

/** A one-line description of a cel-js error: its summary plus where in the expression. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const detail = error as Error & { summary?: string; range?: { start: number } }
  const summary = detail.summary ?? error.message.split('\n')[0] ?? 'invalid expression'
  return detail.range ? `${summary} (at character ${detail.range.start + 1})` : summary
}

function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
  }
  if (Array.isArray(value) && value.some((element) => typeof element === 'bigint')) {
    return value.map(normalize)
  }
  return value
}

/** Compile a CEL expression; throws ExpressionError (phase 'compile') with a one-line reason. */
export function compileExpression(source: string, options: CompileOptions = {}): CompiledExpression {
  const variables = options.variables ?? DEFAULT_VARIABLES
  const env = environmentFor(variables)
  if (source.trim() === '') throw new ExpressionError(source, 'compile', 'empty expression')
  let program: ReturnType<Environment['parse']>
  try {
    program = env.parse(source)
  } catch (error) {
    throw new ExpressionError(source, 'compile', describe(error), error)
  }
  const checked = program.check()
  if (!checked.valid) throw new ExpressionError(source, 'compile', describe(checked.error), checked.error)
  const type = checked.type ?? 'dyn'
  const expect = options.expect ?? 'any'
  if (expect === 'bool' && type !== 'bool' && type !== 'dyn') {
    throw new ExpressionError(source, 'compile', `must produce a bool, but produces ${type}`)
  }
  if (expect === 'list' && !type.startsWith('list') && type !== 'dyn') {
    throw new ExpressionError(source, 'compile', `must produce a list, but produces ${type}`)
  }

  const evaluate = (vars: CelVariables): unknown => {
    const context: Record<string, unknown> = {}
    for (const name of variables) {
      if (name === 'now') context.now = vars.now === undefined ? new Date() : new Date(vars.now)
      else if (name === 'params' || name === 'headers') context[name] = vars[name] ?? EMPTY
      else context[name] = vars[name] ?? null
    }
    try {
      return normalize(program(context))
    } catch (error) {
      throw new ExpressionError(source, 'evaluate', describe(error), error)
    }
  }
  return {
    source,
    variables,
    evaluate,
    test(vars) {
      const result = evaluate(vars)
      if (typeof result !== 'boolean') {
        throw new ExpressionError(source, 'evaluate', `expected a bool, got ${typeof result}`)
      }
      return result
    },
    list(vars) {
      const result = evaluate(vars)
      if (!Array.isArray(result)) {
        throw new ExpressionError(source, 'evaluate', `expected a list, got ${typeof result}`)
      }
      return result
    },
    toJSON: () => source,
  }
}
