import { describe, expect, it } from 'vitest'
import { parseSelector } from '../../src/stores/store.js'
import { CisternError } from '../../src/util/errors.js'

function refusal(source: Record<string, unknown>, spell?: (field: string) => string): CisternError {
  try {
    parseSelector(source, spell)
  } catch (error) {
    expect(error).toBeInstanceOf(CisternError)
    expect((error as CisternError).code).toBe('E_INVALID_SELECTOR')
    return error as CisternError
  }
  throw new Error(`${JSON.stringify(source)} was accepted`)
}

describe('parseSelector', () => {
  it('reads exactly one non-empty key, tag or prefix; absent and null fields do not count', () => {
    expect(parseSelector({ key: '/a' })).toEqual({ key: '/a' })
    expect(parseSelector({ tag: 't', key: undefined })).toEqual({ tag: 't' })
    expect(parseSelector({ prefix: '/', tag: null })).toEqual({ prefix: '/' })
  })

  it('refuses none, two, an empty value and a value that is not a string', () => {
    expect(refusal({}).message).toBe('give exactly one of key, tag or prefix')
    expect(refusal({ tag: 'a', prefix: '/b' }).message).toMatch(/exactly one/)
    expect(refusal({ prefix: '' }).message).toMatch(/^prefix must be a non-empty string/)
    expect(refusal({ key: 42 }).message).toMatch(/^key must be a non-empty string/)
    expect(refusal({ tag: ['a'] }).message).toMatch(/^tag must be/)
  })

  it('names the fields as the caller spells them', () => {
    const flag = (field: string) => `--${field}`
    expect(refusal({}, flag).message).toBe('give exactly one of --key, --tag or --prefix')
    expect(refusal({ tag: '' }, flag).message).toMatch(/^--tag must be a non-empty string/)
  })
})
