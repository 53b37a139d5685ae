/**
 * Templates turn request data into strings: tags (`team:{team}`), upstream paths
 * (`/:season/teams?teamNumber=:team`), warm paths (`/ftc/{params.season}/match/{item.id}`) and
 * webhook actions (`event:{body.message_data.event_key}`).
 *
 * - `{name}` or `{a.b.c}` inserts a value looked up by a dotted path; `{{` and `}}` are literal braces.
 * - With `colonParams` (the `to` of a route), `:name` right after `/` or `=` also inserts a parameter.
 */
export interface TemplateRef {
  /** The dotted path as written, e.g. `body.message_data.event_key`. */
  text: string
  path: readonly string[]
}

export type TemplatePart = string | TemplateRef

export interface Template {
  readonly source: string
  readonly parts: readonly TemplatePart[]
  readonly refs: readonly TemplateRef[]
  /**
   * Fill the template. `vars` is searched by each ref's dotted path (a route tag `{team}` reads
   * `vars.team`, `{body.x}` reads `vars.body.x`). Strings, numbers, bigints and booleans are
   * inserted (through `encode` when given); anything else, or a missing value, gives undefined.
   */
  render(vars: Readonly<Record<string, unknown>>, encode?: (value: string) => string): string | undefined
  toJSON(): string
}

export class TemplateSyntaxError extends Error {
  override name = 'TemplateSyntaxError'
}

const SEGMENT = /^(?:[A-Za-z_][\w-]*|\d+)$/
const COLON_PARAM = /:([A-Za-z_]\w*)/y

function parseRef(text: string, source: string): TemplateRef {
  const path = text.split('.')
  if (text === '' || !path.every((segment) => SEGMENT.test(segment))) {
    throw new TemplateSyntaxError(
      `"{${text}}" in "${source}" is not a valid reference (expected {name} or {a.b.c}; write {{ for a literal brace)`,
    )
  }
  return { text, path }
}

export function compileTemplate(source: string, options: { colonParams?: boolean } = {}): Template {
  const parts: TemplatePart[] = []
  let literal = ''
  let at = 0
  while (at < source.length) {
    const char = source[at]!
    if (char === '{' && source[at + 1] === '{') {
      literal += '{'
      at += 2
    } else if (char === '}' && source[at + 1] === '}') {
      literal += '}'
      at += 2
    } else if (char === '{') {
      const close = source.indexOf('}', at + 1)
      if (close === -1) throw new TemplateSyntaxError(`unclosed "{" in "${source}"`)
      if (literal) parts.push(literal)
      literal = ''
      parts.push(parseRef(source.slice(at + 1, close).trim(), source))
      at = close + 1
    } else if (char === '}') {
      throw new TemplateSyntaxError(`unmatched "}" in "${source}" (write }} for a literal brace)`)
    } else if (char === ':' && options.colonParams && (at === 0 || '/='.includes(source[at - 1]!))) {
      COLON_PARAM.lastIndex = at
      const match = COLON_PARAM.exec(source)
      if (!match) {
        literal += char
        at += 1
        continue
      }
      if (literal) parts.push(literal)
      literal = ''
      parts.push({ text: match[1]!, path: [match[1]!] })
      at = COLON_PARAM.lastIndex
    } else {
      literal += char
      at += 1
    }
  }
  if (literal) parts.push(literal)
  const refs = parts.filter((part): part is TemplateRef => typeof part !== 'string')
  return {
    source,
    parts,
    refs,
    render(vars, encode) {
      let out = ''
      for (const part of parts) {
        if (typeof part === 'string') {
          out += part
          continue
        }
        const value = lookup(vars, part.path)
        if (value === undefined) return undefined
        out += encode ? encode(value) : value
      }
      return out
    },
    toJSON: () => source,
  }
}

function lookup(vars: unknown, path: readonly string[]): string | undefined {
  let current: unknown = vars
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined
    if (!Object.hasOwn(current, segment)) return undefined
    current = (current as Record<string, unknown>)[segment]
  }
  switch (typeof current) {
    case 'string':
      return current
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(current)
    default:
      return undefined
  }
}
