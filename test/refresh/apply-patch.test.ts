import { describe, expect, it } from 'vitest'
import { applyJsonPatch, PatchError } from '../../src/refresh/apply-patch.js'
import { jsonPatch } from '../../src/refresh/diff.js'

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = { a: { b: [1, 2, 3] }, 'x/y': 1, 'm~n': 2 }

  it('applies add, remove and replace, with RFC 6901 escapes and "-" for the end of an array', () => {
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/a/b/-', value: 4 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'remove', path: '/x~1y' },
      { op: 'replace', path: '/m~0n', value: 'swapped' },
    ])
    expect(out).toEqual({ a: { b: [0, 1, 2, 3, 4] }, 'm~n': 'swapped' })
    // The input is left as it was.
    expect(doc).toEqual({ a: { b: [1, 2, 3] }, 'x/y': 1, 'm~n': 2 })
  })

  it('applies move, copy and test, and replaces the whole document at ""', () => {
    expect(
      applyJsonPatch(doc, [
        { op: 'test', path: '/a/b/1', value: 2 },
        { op: 'copy', from: '/a/b', path: '/c' },
        { op: 'move', from: '/x~1y', path: '/a/z' },
      ]),
    ).toEqual({ a: { b: [1, 2, 3], z: 1 }, 'm~n': 2, c: [1, 2, 3] })
    expect(applyJsonPatch(doc, [{ op: 'replace', path: '', value: [1] }])).toEqual([1])
  })

  it('refuses what RFC 6902 says to refuse', () => {
    const refused = (op: Parameters<typeof applyJsonPatch>[1][number]) => () => applyJsonPatch(doc, [op])
    expect(refused({ op: 'test', path: '/a/b/0', value: 9 })).toThrow(PatchError)
    expect(refused({ op: 'remove', path: '/nope' })).toThrow(/no member "nope"/)
    expect(refused({ op: 'replace', path: '/a/b/3', value: 1 })).toThrow(/out of range/)
    expect(refused({ op: 'add', path: '/a/b/01', value: 1 })).toThrow(/not an array index/)
    expect(refused({ op: 'move', from: '/a', path: '/a/inner' })).toThrow(/own child/)
    expect(refused({ op: 'add', path: 'a', value: 1 })).toThrow(/not a JSON pointer/)
  })

  it('treats a member named __proto__ as a member, never as the prototype', () => {
    const before = JSON.parse('{"keep": 1}') as object
    const after = JSON.parse('{"keep": 1, "__proto__": {"polluted": true}}') as object
    const out = applyJsonPatch(before, jsonPatch(before, after)) as Record<string, unknown>
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(JSON.stringify(out)).toBe(JSON.stringify(after))
  })
})
