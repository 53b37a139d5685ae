import { CisternError } from '../util/errors.js'

/** One segment of a key path: an object key or a list index. */
export type PathSegment = string | number

/** What kind of mistake an issue reports; stable, so tests and tools can branch on it. */
export type ConfigIssueKind =
  | 'yaml' // not parseable YAML, or a YAML feature cistern refuses (unknown tags)
  | 'duplicate-key'
  | 'unknown-key'
  | 'type' // wrong type or missing required key
  | 'value' // right type, wrong value (bad duration, enum, range ...)
  | 'env' // ${VAR} interpolation
  | 'cel' // an expression that does not compile
  | 'template' // a template that does not parse or names an unknown parameter
  | 'reference' // a name that points nowhere (route → upstream, notify → route)

/** A problem located in the source file. Lines and columns are 1-based. */
export interface ConfigIssue {
  file: string
  line: number
  column: number
  /** Key path such as `routes[2].ttl`; empty for the document itself. */
  path: string
  segments: PathSegment[]
  kind: ConfigIssueKind
  /** What is wrong and what was expected, without the location prefix. */
  message: string
}

/** An issue before it is placed in the file: the loader maps `segments` to a line and column. */
export interface PendingIssue {
  segments: PathSegment[]
  kind: ConfigIssueKind
  message: string
  /** Point at the key itself rather than its value (unknown and duplicate keys, bad names). */
  at?: 'key' | 'value'
  /** Exact source offset when known (YAML syntax errors); wins over `segments`. */
  offset?: number
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/

/** `routes[2].ttl`, `upstreams.ftc.auth`, `upstreams["my api"].url`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = ''
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out
}

/** `cistern.yaml:14:10 routes[2].ttl: "5 minutes" is not a duration (expected e.g. 90s, 5m, 24h)` */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`
  return issue.path === '' ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`
}

/** The configuration is invalid. `issues` lists every problem found, in file order. */
export class ConfigError extends CisternError {
  readonly issues: readonly ConfigIssue[]
  readonly file: string

  constructor(file: string, issues: readonly ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column)
    const lines = sorted.map(formatIssue)
    const message =
      lines.length === 1 ? lines[0]! : `${file}: ${lines.length} configuration errors\n${lines.join('\n')}`
    super('E_CONFIG', message)
    this.name = 'ConfigError'
    this.file = file
    this.issues = sorted
  }
}
