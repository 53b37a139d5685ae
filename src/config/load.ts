import { readFile } from 'node:fs/promises'
import { dirname, resolve as resolvePath } from 'node:path'
import { type Env, type Interpolated, interpolateDocument } from './env.js'
import { ConfigError, type ConfigIssue, formatPath, type PendingIssue } from './errors.js'
import { resolveConfig } from './resolve.js'
import { configSchema } from './schema/root.js'
import type { CisternConfig } from './types.js'
import { parseSource, type SourceDocument } from './yaml.js'
import { errorMap, toPending } from './zod-issues.js'

export interface ParseOptions {
  /** Relative store paths resolve against this; default: the directory of `fileName`. */
  baseDir?: string
}

/** Read and validate a config file. Throws ConfigError (code E_CONFIG) listing every problem. */
export async function loadConfig(path: string, env: Env = process.env): Promise<CisternConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConfigError(path, [
      {
        file: path,
        line: 1,
        column: 1,
        path: '',
        segments: [],
        kind: 'yaml',
        message: `cannot read: ${reason}`,
      },
    ])
  }
  return parseConfig(text, path, env)
}

/**
 * Validate config text. `fileName` is used in messages and, unless `options.baseDir` is given, to
 * resolve relative paths. Throws ConfigError listing every problem with file:line:column and key.
 */
export function parseConfig(
  text: string,
  fileName: string,
  env: Env = process.env,
  options: ParseOptions = {},
): CisternConfig {
  const source = parseSource(text)
  const fail = (pending: PendingIssue[], interpolated: Interpolated[] = []): never => {
    throw new ConfigError(fileName, place(pending, source, fileName, interpolated))
  }
  if (source.issues.length > 0) fail(source.issues)

  const { issues: envIssues, interpolated } = interpolateDocument(source.doc, env)
  let data: unknown
  try {
    data = source.doc.toJS({ maxAliasCount: 100 }) ?? {}
  } catch (error) {
    fail([{ segments: [], kind: 'yaml', message: error instanceof Error ? error.message : String(error) }])
  }
  const parsed = configSchema.safeParse(data, { error: errorMap })
  const pending = [...envIssues]
  if (!parsed.success) {
    // An issue at a value that failed interpolation repeats it ("is required"): keep the env one.
    const envPaths = new Set(envIssues.map((issue) => formatPath(issue.segments)))
    pending.push(...toPending(parsed.error.issues).filter((i) => !envPaths.has(formatPath(i.segments))))
    fail(pending, interpolated)
  }
  if (pending.length > 0) fail(pending, interpolated)
  const baseDir = options.baseDir ?? dirname(resolvePath(fileName))
  const { config, issues } = resolveConfig(parsed.data!, fileName, baseDir)
  if (issues.length > 0) fail(issues, interpolated)
  return config
}

/** Give each pending issue its line and column, and keep environment values out of messages. */
function place(
  pending: readonly PendingIssue[],
  source: SourceDocument,
  file: string,
  interpolated: readonly Interpolated[],
): ConfigIssue[] {
  return pending.map((issue) => {
    const offset = issue.offset ?? source.locate(issue.segments, issue.at)
    const { line, column } = source.position(offset)
    return {
      file,
      line,
      column,
      path: formatPath(issue.segments),
      segments: issue.segments,
      kind: issue.kind,
      message: redact(issue, interpolated),
    }
  })
}

function related(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Replace any value read from the environment with `<value of $VAR>`. */
function redact(issue: PendingIssue, interpolated: readonly Interpolated[]): string {
  let message = issue.message
  for (const item of interpolated) {
    if (!related(issue.segments, item.segments) || item.value === '') continue
    const label = `<value of ${item.variables.map((name) => `$${name}`).join(', ')}>`
    message = message.split(JSON.stringify(item.value)).join(label)
    if (item.value.length >= 3) message = message.split(item.value).join(label)
  }
  return message
}
