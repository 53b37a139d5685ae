import { jsonEqual } from './diff.js'
import type { PatchOperation } from './types.js'

/**
 * Apply an RFC 6902 patch to a copy of `document` (tests, and clients that mirror a resource from
 * the change feed). Written here rather than taken from fast-json-patch, whose applyPatch refuses
 * (or, unguarded, rewrites the prototype for) a member named `__proto__`: upstream JSON may have
 * one, and the patch cistern publishes for it is valid. Members are read and written as own
 * properties only. Throws on a path that does not exist or a failed `test`.
 */
export function applyJsonPatch(document: unknown, patch: readonly PatchOperation[]): unknown {
  let current: unknown = structuredClone(document)
  for (const operation of patch) current = apply(current, operation)
  return current
}

function apply(document: unknown, operation: PatchOperation): unknown {
  const { op, path } = operation
  switch (op) {
    case 'add':
      return add(document, path, structuredClone(operation.value))
    case 'remove':
      return remove(document, path)
    case 'replace':
      if (path === '') return structuredClone(operation.value)
      valueAt(document, path)
      return add(remove(document, path), path, structuredClone(operation.value))
    case 'move': {
      const from = fromOf(operation)
      if (path.startsWith(`${from}/`)) throw new PatchError(`cannot move ${from} into its own child ${path}`)
      const value = valueAt(document, from)
      return add(remove(document, from), path, value)
    }
    case 'copy':
      return add(document, path, structuredClone(valueAt(document, fromOf(operation))))
    case 'test':
      if (!jsonEqual(valueAt(document, path), operation.value)) throw new PatchError(`test failed at ${path}`)
      return document
  }
}

export class PatchError extends Error {
  override name = 'PatchError'
}

function fromOf(operation: PatchOperation): string {
  if (operation.from === undefined) throw new PatchError(`${operation.op} needs "from"`)
  return operation.from
}

/** RFC 6901 tokens: `/a/b~1c` is ["a", "b/c"]; '' is the whole document. */
function tokens(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new PatchError(`"${pointer}" is not a JSON pointer`)
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
}

type Container = Record<string, unknown> | unknown[]

/** The container holding the pointer's last token, and that token. */
function parentOf(document: unknown, pointer: string): [Container, string] {
  const path = tokens(pointer)
  const last = path.pop()!
  let node = document
  for (const token of path) node = child(node, token, pointer)
  if (typeof node !== 'object' || node === null) throw new PatchError(`${pointer}: parent is not a container`)
  return [node as Container, last]
}

function child(node: unknown, token: string, pointer: string): unknown {
  if (Array.isArray(node)) return node[index(node, token, pointer, false)]
  if (typeof node === 'object' && node !== null && Object.hasOwn(node, token)) {
    return (node as Record<string, unknown>)[token]
  }
  throw new PatchError(`${pointer}: no member "${token}"`)
}

function index(array: unknown[], token: string, pointer: string, forAdd: boolean): number {
  if (forAdd && token === '-') return array.length
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`${pointer}: "${token}" is not an array index`)
  const at = Number(token)
  if (at > array.length || (!forAdd && at === array.length))
    throw new PatchError(`${pointer}: index out of range`)
  return at
}

function valueAt(document: unknown, pointer: string): unknown {
  let node = document
  for (const token of tokens(pointer)) node = child(node, token, pointer)
  return node
}

function add(document: unknown, pointer: string, value: unknown): unknown {
  if (pointer === '') return value
  const [parent, token] = parentOf(document, pointer)
  if (Array.isArray(parent)) parent.splice(index(parent, token, pointer, true), 0, value)
  // defineProperty, not assignment: `__proto__` must become a member, not a new prototype.
  else Object.defineProperty(parent, token, { value, writable: true, enumerable: true, configurable: true })
  return document
}

function remove(document: unknown, pointer: string): unknown {
  if (pointer === '') throw new PatchError('cannot remove the whole document')
  const [parent, token] = parentOf(document, pointer)
  if (Array.isArray(parent)) parent.splice(index(parent, token, pointer, false), 1)
  else if (Object.hasOwn(parent, token)) delete parent[token]
  else throw new PatchError(`${pointer}: no member "${token}"`)
  return document
}
