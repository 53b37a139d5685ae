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

function environmentFor(variables: readonly CelVariableName[]): Environment {
  const key = [...variables].sort().join(',')
  let env = environments.get(key)
  if (!env) {
    env = new Environment({ limits: { maxAstNodes: 2000, maxDepth: 64 } })
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
