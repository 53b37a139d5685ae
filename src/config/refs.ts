import type { ConfigIssueKind, PathSegment, PendingIssue } from './errors.js'
import { didYouMean } from './suggest.js'
import type { Template } from './template.js'

/** Collects issues found after schema validation (cross-references, templates, combinations). */
export class Findings {
  readonly issues: PendingIssue[] = []
  add(segments: PathSegment[], kind: ConfigIssueKind, message: string, at?: 'key' | 'value'): void {
    this.issues.push({ segments, kind, message, ...(at ? { at } : {}) })
  }
}

/** What a template may refer to: path parameters (as {name} or {params.name}) and free roots. */
export interface RefScope {
  params: readonly string[]
  /** Roots whose contents are only known at run time: `item`, `body`, `headers`. */
  roots: readonly string[]
  /** Single-segment names allowed besides params (notify templates: the event fields). */
  names?: readonly string[]
}

function listParams(params: readonly string[]): string {
  return params.length === 0
    ? 'the path has no parameters'
    : `the path has ${params.map((p) => `:${p}`).join(', ')}`
}

/** Report every ref of `template` that `scope` does not provide. */
export function checkRefs(
  template: Template,
  scope: RefScope,
  segments: PathSegment[],
  findings: Findings,
): void {
  for (const ref of template.refs) {
    const [root, ...rest] = ref.path
    if (root === undefined) continue
    const names = [...scope.params, ...(scope.names ?? [])]
    if (rest.length === 0) {
      if (names.includes(root)) continue
      const roots = scope.roots.length ? `; or use ${scope.roots.map((r) => `{${r}.…}`).join(', ')}` : ''
      const known = scope.names ? `known names: ${names.join(', ')}` : listParams(scope.params)
      findings.add(
        segments,
        'template',
        `unknown parameter "${root}" in "${template.source}"${didYouMean(root, names)}; ${known}${roots}`,
      )
      continue
    }
    if (scope.roots.includes(root)) continue
    if (root === 'params') {
      const name = rest[0]!
      if (rest.length === 1 && scope.params.includes(name)) continue
      findings.add(
        segments,
        'template',
        `unknown parameter "${ref.text}" in "${template.source}"${didYouMean(name, scope.params)}; ${listParams(scope.params)}`,
      )
      continue
    }
    const allowed = ['params', ...scope.roots]
    findings.add(
      segments,
      'template',
      `"{${ref.text}}" in "${template.source}" must start with ${allowed.join(', ')} or name a path parameter${didYouMean(root, allowed)}`,
    )
  }
}

/** checkRefs for a list of templates; issues point at each element. */
export function checkAll(
  templates: readonly Template[],
  scope: RefScope,
  segments: PathSegment[],
  findings: Findings,
): void {
  for (const [i, template] of templates.entries()) checkRefs(template, scope, [...segments, i], findings)
}
