import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from 'yaml'
import type { PathSegment, PendingIssue } from './errors.js'

/** Start offsets of a key and its value in the source. */
interface Place {
  key?: number
  value?: number
}

/**
 * A parsed YAML 1.2 (core schema) document plus everything needed to point an issue at a line and
 * column: the start offset of every key and value, by key path.
 */
export interface SourceDocument {
  doc: Document.Parsed
  lines: LineCounter
  /** Problems found while parsing: syntax errors, duplicate keys, unknown tags. */
  issues: PendingIssue[]
  /** Offset for a key path, falling back to the nearest parent that exists in the file. */
  locate(segments: readonly PathSegment[], at?: 'key' | 'value'): number
  /** 1-based line and column of a source offset. */
  position(offset: number): { line: number; column: number }
}

const pathKey = (segments: readonly PathSegment[]): string => JSON.stringify(segments)

/** A scalar, map or sequence node, with the key path that leads to it. */
export type NodeVisitor = (node: Node, segments: PathSegment[]) => void

/**
 * Visit every node reachable from the document root (keys excluded), depth first. Aliases are
 * visited as themselves and not followed, so an anchored node is visited exactly once.
 */
export function walk(doc: Document.Parsed, visit: NodeVisitor): void {
  const step = (node: unknown, segments: PathSegment[]): void => {
    if (!node || typeof node !== 'object') return
    if (isMap(node)) {
      visit(node, segments)
      for (const pair of node.items) {
        if (!isPair(pair)) continue
        step(pair.value, [...segments, keyName(pair.key)])
      }
    } else if (isSeq(node)) {
      visit(node, segments)
      for (const [index, item] of node.items.entries()) step(item, [...segments, index])
    } else if (isScalar(node) || isAlias(node)) {
      visit(node, segments)
    }
  }
  step(doc.contents, [])
}

function keyName(key: unknown): string {
  if (isScalar(key)) return String(key.value)
  if (key === null || key === undefined) return ''
  return String(key)
}

export function parseSource(text: string): SourceDocument {
  const lines = new LineCounter()
  const doc = parseDocument(text, {
    version: '1.2',
    schema: 'core',
    // Duplicates are detected below, with both locations in the message.
    uniqueKeys: false,
    merge: false,
    prettyErrors: false,
    lineCounter: lines,
  })
  const places = new Map<string, Place>()
  const issues: PendingIssue[] = []
  for (const problem of [...doc.errors, ...doc.warnings]) {
    // The first line without yaml's own " at line L, column C:" suffix: the prefix says where.
    const message = (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
    issues.push({ segments: [], kind: 'yaml', message, offset: problem.pos[0] })
  }
  const unquoted = doc.errors.length > 0 ? unquotedVariable(text, doc.errors[0]!.pos[0]) : undefined
  // `{ secret: ${X} }`: YAML reads the braces as a flow map, and one cause gives a cascade of
  // parser errors; the cause, with its fix, is the one line worth reading.
  if (unquoted) issues.splice(0, issues.length, unquoted)
  const position = (offset: number) => {
    const { line, col } = lines.linePos(offset)
    return { line, column: col }
  }
  const contents = doc.contents
  if (contents?.range) places.set(pathKey([]), { value: contents.range[0] })

  walk(doc, (node, segments) => {
    if (!isMap(node)) {
      if (isSeq(node)) {
        node.items.forEach((item, index) => {
          const start = rangeStart(item)
          if (start !== undefined) places.set(pathKey([...segments, index]), { value: start })
        })
      }
      return
    }
    const seen = new Map<string, number>()
    for (const pair of node.items) {
      if (!isPair(pair)) continue
      const name = keyName(pair.key)
      const keyStart = rangeStart(pair.key)
      const valueStart = rangeStart(pair.value)
      const first = seen.get(name)
      if (first !== undefined) {
        issues.push({
          segments: [...segments, name],
          kind: 'duplicate-key',
          message: `duplicate key "${name}" (first defined at line ${position(first).line})`,
          ...(keyStart === undefined ? {} : { offset: keyStart }),
        })
        continue
      }
      if (keyStart !== undefined) seen.set(name, keyStart)
      places.set(pathKey([...segments, name]), {
        ...(keyStart === undefined ? {} : { key: keyStart }),
        ...(valueStart === undefined ? {} : { value: valueStart }),
      })
    }
  })

  const locate = (segments: readonly PathSegment[], at: 'key' | 'value' = 'value'): number => {
    for (let length = segments.length; length >= 0; length--) {
      const place = places.get(pathKey(segments.slice(0, length)))
      if (!place) continue
      // A missing child points at its parent's value (the map it belongs in), not the parent's key.
      const preferKey = at === 'key' && length === segments.length
      const offset = preferKey ? (place.key ?? place.value) : (place.value ?? place.key)
      if (offset !== undefined) return offset
    }
    return 0
  }
  return { doc, lines, issues, locate, position }
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: [number, number, number] | null }).range
    if (range) return range[0]
  }
  return undefined
}

const VARIABLE = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-[^}"'\n]*)?\}/g

/**
 * An unquoted `${VAR}` on the line of the first syntax error, where it is inside a flow collection
 * (`{ ... }` or `[ ... ]`): there `{` and `}` are YAML syntax, so the reference must be quoted.
 */
function unquotedVariable(text: string, offset: number): PendingIssue | undefined {
  const lineStart = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1
  const lineEnd = text.indexOf('\n', offset)
  const line = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd)
  for (const match of line.matchAll(VARIABLE)) {
    const before = line.slice(0, match.index)
    const quotes = (before.match(/"/g)?.length ?? 0) + (before.match(/'/g)?.length ?? 0)
    const inFlow =
      before.lastIndexOf('{') > before.lastIndexOf('}') || before.lastIndexOf('[') > before.lastIndexOf(']')
    if (quotes % 2 === 0 && inFlow) {
      return {
        segments: [],
        kind: 'yaml',
        message: `${match[0]} inside { ... } or [ ... ] is read as YAML braces: quote it ("${match[0]}")`,
        offset: lineStart + match.index,
      }
    }
  }
  return undefined
}
